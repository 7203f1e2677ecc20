/** @jest-environment ../tensor/src/onnx/ort-test-environment.js */
import { JsExpertFfn, MoeLayer, OrtExpertFfn, ortExpertBackend } from '../src';
import { maxAbsDiff, randn, randomExperts, refMoe, rng } from './reference';

describe('ORT expert FFN', () => {
  it('equals the JS reference SwiGLU for several batch sizes', async () => {
    const C = 16;
    const I = 24;
    const [w] = randomExperts(1, C, I, rng(8));
    const ort = new OrtExpertFfn(w, C, I, 1);
    const js = new JsExpertFfn(w, C, I);
    for (const n of [1, 3, 17]) {
      const x = randn(n * C, rng(n), 1);
      expect(maxAbsDiff(await ort.run(x, n), await js.run(x, n))).toBeLessThan(1e-4);
    }
    expect((await ort.run(new Float32Array(0), 0)).length).toBe(0);
    await ort.dispose();
    await expect(ort.run(new Float32Array(C), 1)).rejects.toThrow(/after dispose/);
  });

  it('a MoeLayer on ORT equals the per-token reference', async () => {
    const C = 12;
    const I = 20;
    const E = 5;
    const rand = rng(31);
    const router = randn(E * C, rand, 1);
    const experts = randomExperts(E, C, I, rand);
    const layer = new MoeLayer({ hiddenSize: C, intermediateSize: I, numExperts: E, topK: 2, router, experts, backend: ortExpertBackend({ threads: 1 }) });
    const x = randn(10 * C, rand, 1);
    expect(maxAbsDiff(await layer.forward(x, 10), refMoe(x, 10, C, I, router, experts, { k: 2 }))).toBeLessThan(1e-4);
    await layer.dispose();
  });
});
