/*
 * Q4_1, Q5_0 and Q5_1 dequantization on blocks built by hand from ggml's block layouts, each
 * expected value worked out from x = q * d + m (Q4_1, Q5_1) or (q - 16) * d (Q5_0), with the
 * fifth bit of weight j at bit j of the little-endian u32 qh.
 */
import { dequantizeRowQ4_1, dequantizeRowQ5_0, dequantizeRowQ5_1 } from './legacy-quants';

// halves: 0x3800 = 0.5, 0xBC00 = -1, 0x4000 = 2
const qs = () => {
  const b = new Array(16).fill(0);
  b[0] = 0x1f; // weight 0: nibble 15, weight 16: nibble 1
  b[1] = 0x80; // weight 1: nibble 0, weight 17: nibble 8
  return b;
};

it('Q4_1: x = q * d + m, low nibbles are weights 0-15', () => {
  const src = Uint8Array.from([0x00, 0x38, 0x00, 0xbc, ...qs()]); // d 0.5, m -1
  const y = new Float32Array(32);
  dequantizeRowQ4_1(y, src, 32);
  const want = new Array(32).fill(-1); // nibble 0 -> m
  Object.assign(want, { 0: 15 * 0.5 - 1, 16: 0.5 - 1, 1: -1, 17: 8 * 0.5 - 1 });
  expect(Array.from(y)).toEqual(want);
});

it('Q5_0: x = (q - 16) * d, bit j of qh is bit 4 of weight j', () => {
  // qh bits 0 (weight 0), 17 (weight 17), 31 (weight 31) set: bytes 01 00 02 80
  const src = Uint8Array.from([0x00, 0x40, 0x01, 0x00, 0x02, 0x80, ...qs()]); // d 2
  const y = new Float32Array(32);
  dequantizeRowQ5_0(y, src, 32);
  const want = new Array(32).fill(-32); // q 0 -> (0 - 16) * 2
  Object.assign(want, { 0: (31 - 16) * 2, 16: (1 - 16) * 2, 1: -32, 17: (24 - 16) * 2, 31: (16 - 16) * 2 });
  expect(Array.from(y)).toEqual(want);
});

it('Q5_1: x = q * d + m with the fifth bit from qh, two blocks in a row', () => {
  const one = [0x00, 0x38, 0x00, 0xbc, 0x01, 0x00, 0x02, 0x80, ...qs()]; // d 0.5, m -1, qh as above
  const two = [0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, ...new Array(16).fill(0x33)]; // d 2, m 0: every q = 3
  const y = new Float32Array(64);
  dequantizeRowQ5_1(y, Uint8Array.from([...one, ...two]), 64);
  const want = new Array(32).fill(-1);
  Object.assign(want, { 0: 31 * 0.5 - 1, 16: 0.5 - 1, 1: -1, 17: 24 * 0.5 - 1, 31: 16 * 0.5 - 1 });
  expect(Array.from(y.subarray(0, 32))).toEqual(want);
  expect(Array.from(y.subarray(32))).toEqual(new Array(32).fill(6));
});

it('rows that are not whole blocks are refused', () => {
  expect(() => dequantizeRowQ5_0(new Float32Array(16), new Uint8Array(11), 16)).toThrow('Q5_0 rows need a multiple of 32 values, got 16');
});
