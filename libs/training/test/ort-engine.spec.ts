/** @jest-environment ../tensor/src/onnx/ort-test-environment.js */
/*
 * The ONNX Runtime engine against the JavaScript gemm on random shapes, all four
 * transpose variants, batched and not, with and without accumulation.
 */
import { jsBatchedGemm, jsGemm } from '../src/autograd/engine';
import { OrtEngine } from '../src/autograd/ort-engine';
import { Rng } from '../src/rng';

function rand(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

describe('OrtEngine', () => {
  let engine: OrtEngine;
  beforeAll(async () => {
    engine = await OrtEngine.create({ threads: 1, minFlops: 0 });
  });
  afterAll(() => engine.dispose());

  it('gemm equals jsGemm for every transpose variant', async () => {
    const rng = new Rng(1);
    for (const [M, K, N] of [[7, 5, 3], [16, 33, 9], [1, 64, 2]]) {
      for (const transA of [false, true])
        for (const transB of [false, true])
          for (const accumulate of [false, true]) {
            const a = rand(rng, M * K);
            const b = rand(rng, K * N);
            const c0 = rand(rng, M * N);
            const want = Float32Array.from(c0);
            const got = Float32Array.from(c0);
            jsGemm(want, a, b, M, K, N, { transA, transB, accumulate });
            await engine.gemm(got, a, b, M, K, N, { transA, transB, accumulate });
            for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 4);
          }
    }
    expect(engine.ortFlops).toBeGreaterThan(0);
  });

  it('gemm with a bias row equals jsGemm', async () => {
    const rng = new Rng(3);
    const [M, K, N] = [9, 6, 5];
    const a = rand(rng, M * K), b = rand(rng, N * K), bias = rand(rng, N);
    const want = new Float32Array(M * N), got = new Float32Array(M * N);
    jsGemm(want, a, b, M, K, N, { transB: true, bias });
    await engine.gemm(got, a, b, M, K, N, { transB: true, bias });
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 4);
    // and the bias really is added: row 0, column 2 by hand
    let dot = bias[2];
    for (let k = 0; k < K; k++) dot += a[k] * b[2 * K + k];
    expect(got[2]).toBeCloseTo(dot, 4);
  });

  it('bgemm equals the batched JavaScript gemm', async () => {
    const rng = new Rng(2);
    const [Bt, M, K, N] = [3, 6, 4, 5];
    for (const transA of [false, true])
      for (const transB of [false, true]) {
        const a = rand(rng, Bt * M * K);
        const b = rand(rng, Bt * K * N);
        const want = new Float32Array(Bt * M * N);
        const got = new Float32Array(Bt * M * N);
        jsBatchedGemm(want, a, b, Bt, M, K, N, { transA, transB });
        await engine.bgemm(got, a, b, Bt, M, K, N, { transA, transB });
        for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 4);
      }
  });
});
