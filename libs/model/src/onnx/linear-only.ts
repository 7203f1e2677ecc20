/*
 * The decoder's linear layers alone, as one ONNX graph: per layer the fused qkv projection, the
 * output projection (fed the q part, standing in for attention's output), and the dense FFN (gate,
 * up, activation, down), then the LM head; no norms, RoPE, attention, KV or residuals. Built with the
 * very nodes the decoder uses (Gemm for f32 weights, the spec's QuantKernel for quantized blocks), so
 * timing it says how fast ONNX Runtime's matmuls read these weights on this machine: the ceiling a
 * decoder step that runs them can reach. `llm bench` prints it beside the step.
 *
 * Not a model: its output means nothing. Benchmarks only. MoE layers contribute their projections
 * (their experts run outside the decoder graph).
 *   x (N, C) -> [qkv (N, (NH+2NKV)HS) -> q part (N, NH*HS) -> o (N, C) -> FFN (N, C)] x L -> logits (N, V)
 */
import { OnnxGraphBuilder } from '@llm/tensor';
import { fusedLinear, linear, mlp } from './graph-layers';
import type { GraphSpec, GraphWeights } from './spec';

export function buildLinearOnlyGraph(spec: GraphSpec, w: GraphWeights): Uint8Array {
  const { hiddenSize: C, numHeads: NH, headDim: HS, vocabSize: V } = spec;
  const g = new OnnxGraphBuilder({ name: 'linear_layers_only', opset: 17, microsoftDomain: true });
  let x = g.input('x', 'float32', ['N', C]);
  w.layers.forEach((layer, l) => {
    const qkv = fusedLinear(g, x, [layer.q, layer.k, layer.v], [1, 1, 1], `layers.${l}.qkv`, C, spec.quantKernel);
    const q = g.op('Slice', [qkv, g.constInt64([0]), g.constInt64([NH * HS]), g.constInt64([1])]); // (N, NH*HS)
    x = linear(g, q, layer.o, `layers.${l}.o`, NH * HS, spec.quantKernel); // (N, C)
    if (layer.mlp) x = mlp(g, spec, x, layer.mlp, `layers.${l}.mlp`);
  });
  const head = w.lmHeadQuant
    ? linear(g, x, { quant: w.lmHeadQuant }, 'lm_head', C, spec.quantKernel)
    : g.op('Gemm', [x, g.initializer('lm_head', w.lmHead ?? w.embed, [V, C])], { transB: 1 });
  g.output(head, 'logits', 'float32', ['N', V]);
  return g.toBytes();
}
