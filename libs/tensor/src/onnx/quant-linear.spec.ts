/** @jest-environment ./src/onnx/ort-test-environment.js */
/*
 * The quantized linear nodes in ONNX Runtime: MatMulNBits (8 and 4 bits, codes packed low-first,
 * implicit zero point 2^(bits-1)) at accuracy level 0 equals x W^T with W decoded by hand from
 * the codes; DynamicQuantizeLinear + MatMulInteger stays within the activation quantization
 * error of x W^T; wrong sizes are named. The builder marks packed codes as UINT8 initializers.
 */
import { onnx } from 'onnx-proto';
import { OnnxGraphBuilder } from './graph-builder';
import { dynamicInt8MatMul, matMulNBits, type NBitsWeight } from './quant-linear';
import { createOrtSession, ortTensor, outputF32 } from './session';

const K = 64, N = 3, M = 2, BS = 32;

/** Codes and scales chosen by a formula, and W decoded from them: (code - zero point) * scale. */
function weight(bits: 4 | 8): { w: NBitsWeight; W: Float32Array } {
  const blocks = K / BS, blob = (BS * bits) / 8;
  const packed = new Uint8Array(N * blocks * blob), scales = new Float32Array(N * blocks), W = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      scales[n * blocks + b] = 0.25 * (1 + n + b);
      for (let j = 0; j < BS; j++) {
        const code = (7 * n + 5 * b + 3 * j) % 2 ** bits;
        W[n * K + b * BS + j] = (code - 2 ** (bits - 1)) * scales[n * blocks + b];
        const o = (n * blocks + b) * blob;
        if (bits === 8) packed[o + j] = code;
        else packed[o + (j >> 1)] |= j % 2 === 0 ? code : code << 4; // weight 2i low nibble, 2i + 1 high
      }
    }
  }
  return { w: { bits, N, K, blockSize: BS, packed, scales }, W };
}

async function run(build: (g: OnnxGraphBuilder, x: string) => string, X: Float32Array): Promise<Float32Array> {
  const g = new OnnxGraphBuilder({ microsoftDomain: true });
  g.output(build(g, g.input('x', 'float32', ['M', K])), 'y', 'float32', ['M', N]);
  const s = await createOrtSession(g.toBytes(), { threads: 1 });
  const y = outputF32(await s.run({ x: ortTensor(X, [M, K]) }), 'y');
  await s.release();
  return y;
}

function reference(X: Float32Array, W: Float32Array): Float32Array {
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) y[m * N + n] += X[m * K + k] * W[n * K + k];
  return y;
}

const X = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i) * 0.5);

describe('quantized linear nodes', () => {
  it.each([8, 4] as const)('MatMulNBits %i bits, accuracy level 0, equals x W^T on the decoded weights', async (bits) => {
    const { w, W } = weight(bits);
    const y = await run((g, x) => matMulNBits(g, x, w, 'w', 0), X);
    const want = reference(X, W);
    want.forEach((v, i) => expect(Math.abs(y[i] - v)).toBeLessThan(1e-4 * Math.max(1, Math.abs(v))));
  });

  it('DynamicQuantizeLinear + MatMulInteger: within the activation quantization error', async () => {
    const { W } = weight(8);
    const scales = Float32Array.from({ length: N }, (_, n) => Math.max(...W.subarray(n * K, (n + 1) * K).map(Math.abs)) / 127);
    const qT = new Int8Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) qT[k * N + n] = Math.round(W[n * K + k] / scales[n]);
    const y = await run((g, x) => dynamicInt8MatMul(g, x, { N, K, qT, scales }, 'w'), X);
    const Wq = Float32Array.from(W, (_, i) => qT[(i % K) * N + Math.floor(i / K)] * scales[Math.floor(i / K)]);
    const want = reference(X, Wq);
    const xStep = (Math.max(...X) - Math.min(...X)) / 255; // uint8 step of the activations
    const bound = (n: number) => K * xStep * Math.max(...Wq.subarray(n * K, (n + 1) * K).map(Math.abs));
    want.forEach((v, i) => expect(Math.abs(y[i] - v)).toBeLessThan(bound(i % N)));
  });

  it('stores codes as UINT8 and names wrong sizes', () => {
    const g = new OnnxGraphBuilder({ microsoftDomain: true });
    const { w } = weight(4);
    matMulNBits(g, g.input('x', 'float32', ['M', K]), w, 'w');
    const init = onnx.ModelProto.decode(g.toBytes()).graph!.initializer!.find((t) => t.name === 'w.qweight')!;
    expect([init.dataType, init.dims!.map(Number)]).toEqual([onnx.TensorProto.DataType.UINT8, [N, K / BS, 16]]);
    expect(() => matMulNBits(g, 'x', { ...w, packed: new Uint8Array(3) }, 'bad')).toThrow("MatMulNBits 'bad': (N 3, K 64, 4 bits, block 32) needs 96 code bytes and 6 scales, got 3 and 6");
    expect(() => dynamicInt8MatMul(g, 'x', { N, K, qT: new Int8Array(1), scales: new Float32Array(N) }, 'bad2')).toThrow("MatMulInteger 'bad2': (K 64, N 3) needs 192 int8 weights and 3 scales, got 1 and 3");
  });
});
