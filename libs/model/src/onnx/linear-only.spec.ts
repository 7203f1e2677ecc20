/** @jest-environment ../tensor/src/onnx/ort-test-environment.js */
/*
 * buildLinearOnlyGraph (the bench's matmul ceiling) computes exactly the chain it claims, checked
 * against plain loops over the same f32 weights on a random llama: qkv, its q part through o, the
 * gated FFN (silu), and the LM head.
 */
import { createOrtSession, ortTensor, outputF32 } from '@llm/tensor';
import { initRandomModel } from '../init-random';
import { decoderFromLoaded } from './from-loaded';
import { buildLinearOnlyGraph } from './linear-only';
import type { GraphLinear } from './spec';

/** y (N, out) = x (N, in) W^T for W (out, in). */
function matmulT(x: Float32Array, n: number, w: GraphLinear, inF: number): Float32Array {
  const W = w.weight as Float32Array;
  const out = W.length / inF;
  const y = new Float32Array(n * out);
  for (let r = 0; r < n; r++) for (let o = 0; o < out; o++) {
    let s = w.bias ? w.bias[o] : 0;
    for (let i = 0; i < inF; i++) s += x[r * inF + i] * W[o * inF + i];
    y[r * out + o] = s;
  }
  return y;
}

it('chains the decoder\'s linear layers and nothing else', async () => {
  const { spec, weights } = decoderFromLoaded(initRandomModel('llama', {}, 3));
  const { hiddenSize: C, numHeads: NH, headDim: HS, intermediateSize: I } = spec;
  const N = 3;
  let x: Float32Array = Float32Array.from({ length: N * C }, (_, i) => Math.sin(i) * 0.5);
  const input = Float32Array.from(x);
  for (const layer of weights.layers) {
    const q = matmulT(x, N, layer.q, C); // only the q part reaches o
    const o = matmulT(q, N, layer.o, NH * HS);
    const mlp = layer.mlp as NonNullable<typeof layer.mlp>;
    const gate = matmulT(o, N, mlp.gate as GraphLinear, C);
    const up = matmulT(o, N, mlp.up, C);
    const h = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]); // silu(gate) * up, (N, I)
    x = matmulT(h, N, mlp.down, I);
  }
  const want = matmulT(x, N, { weight: weights.lmHead ?? weights.embed }, C);
  const session = await createOrtSession(buildLinearOnlyGraph(spec, weights), { threads: 1 });
  try {
    const got = outputF32(await session.run({ x: ortTensor(input, [N, C]) }), 'logits');
    expect(got.length).toBe(want.length);
    let maxErr = 0;
    for (let i = 0; i < want.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
    expect(maxErr).toBeLessThan(1e-4);
  } finally {
    await session.release();
  }
});
