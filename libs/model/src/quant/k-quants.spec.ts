/*
 * Q4_K, Q5_K and Q6_K dequantization against super-blocks written and worked out by hand from the
 * block layouts (including Q4_K's 6-bit scale packing, where sub-blocks 4-7 take their top two
 * bits from bytes 0-7, and Q6_K's signed scales and split low/high bits).
 */
import { dequantizeRowQ4K, dequantizeRowQ5K, dequantizeRowQ6K, Q4_K_BYTES, Q5_K_BYTES, Q6_K_BYTES } from './k-quants';

it('Q4_K: x = d * sc * q - dmin * m per sub-block of 32', () => {
  const b = new Uint8Array(Q4_K_BYTES);
  b.set([0x00, 0x3c, 0x00, 0x38]); // d = 1, dmin = 0.5
  const scales = 4;
  b[scales + 0] = 0x42; // sub-block 0: sc = 0x42 & 63 = 2; its top bits (1) become bit 4 of sub-block 4's sc
  b[scales + 4] = 3; //    sub-block 0: m = 3
  b[scales + 1] = 1; //    sub-block 1: sc = 1, m = 0
  b[scales + 8] = 0x21; // sub-block 4: sc = (0x21 & 15) | 1 << 4 = 17, m = 0x21 >> 4 = 2
  const qs = 16;
  b[qs + 0] = 0x75; // weight 0 (sub-block 0, low nibble 5) and weight 32 (sub-block 1, high nibble 7)
  b[qs + 64] = 0x03; // weight 128 (sub-block 4, low nibble 3)
  const y = new Float32Array(256);
  dequantizeRowQ4K(y, b, 256);
  const want = new Array(256).fill(0);
  for (let i = 0; i < 32; i++) want[i] = -1.5; //       1 * 2 * 0 - 0.5 * 3
  want[0] = 8.5; //                                     1 * 2 * 5 - 1.5
  want[32] = 7; //                                      1 * 1 * 7 - 0
  for (let i = 128; i < 160; i++) want[i] = -1; //      1 * 17 * 0 - 0.5 * 2
  want[128] = 50; //                                    17 * 3 - 1
  expect(Array.from(y)).toEqual(want);
});

it('Q5_K: as Q4_K with a fifth bit worth 16 from qh (bit 2k for the k-th 64 low nibbles, 2k + 1 for the high)', () => {
  const b = new Uint8Array(Q5_K_BYTES);
  b.set([0x00, 0x3c, 0x00, 0x38]); // d = 1, dmin = 0.5
  b[4 + 0] = 2; //  sub-block 0: sc 2
  b[4 + 4] = 3; //  sub-block 0: m 3
  b[4 + 1] = 1; //  sub-block 1: sc 1, m 0
  b[4 + 2] = 4; //  sub-block 2: sc 4, m 0
  const qh = 16, qs = 48;
  b[qh + 0] = 0b101; // weight 0 (bit 0) and weight 64 (bit 2) get +16
  b[qh + 1] = 0b010; // weight 33 (bit 1) gets +16
  b[qs + 0] = 0x75; //  weight 0 low nibble 5, weight 32 high nibble 7
  b[qs + 32] = 0x02; // weight 64 low nibble 2
  const y = new Float32Array(256);
  dequantizeRowQ5K(y, b, 256);
  const want = new Array(256).fill(0);
  for (let i = 0; i < 32; i++) want[i] = -1.5; // 1 * 2 * 0 - 0.5 * 3
  want[0] = 40.5; //  1 * 2 * (5 + 16) - 1.5
  want[32] = 7; //    1 * 1 * 7
  want[33] = 16; //   1 * 1 * (0 + 16)
  want[64] = 72; //   1 * 4 * (2 + 16)
  expect(Array.from(y)).toEqual(want);
});

it('Q6_K: x = d * scale_16 * (q - 32), q = 4 low bits (ql) | 2 high bits (qh) << 4', () => {
  const b = new Uint8Array(Q6_K_BYTES);
  b.set([0x00, 0x38], 208); // d = 0.5
  b[192 + 0] = 2; // scale of weights 0-15
  b[192 + 2] = 0xff; // -1: weights 32-47
  b[192 + 4] = 1; // weights 64-79
  b[192 + 6] = 1; // weights 96-111
  b[0] = 0x21; // ql[0]: weight 0 low bits 1, weight 64 low bits 2
  b[128] = 0xe4; // qh[0] = 0b11_10_01_00: high bits of weights 0, 32, 64, 96 = 0, 1, 2, 3
  const y = new Float32Array(256);
  dequantizeRowQ6K(y, b, 256);
  const want = new Array(256).fill(0);
  const fill = (from: number, to: number, v: number) => { for (let i = from; i < to; i++) want[i] = v; };
  fill(0, 16, -32); //    0.5 * 2 * (0 - 32)
  fill(32, 48, 16); //    0.5 * -1 * (0 - 32)
  fill(64, 80, -16); //   0.5 * 1 * (0 - 32)
  fill(96, 112, -16);
  want[0] = -31; //       q = 1 | 0 << 4 = 1:        0.5 * 2 * (1 - 32)
  want[32] = 8; //        q = 0 | 1 << 4 = 16:       0.5 * -1 * (16 - 32)
  want[64] = 1; //        q = 2 | 2 << 4 = 34:       0.5 * 1 * (34 - 32)
  want[96] = 8; //        q = 0 | 3 << 4 = 48:       0.5 * 1 * (48 - 32)
  expect(Array.from(y, (v) => v + 0)).toEqual(want); // + 0: a zero scale times a negative q is -0
});
