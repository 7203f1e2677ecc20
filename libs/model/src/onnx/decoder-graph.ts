/*
 * The whole decoder as ONNX graphs: one graph for a dense model (embed -> L layers -> final
 * norm -> logits of the requested rows), or, when some layers are MoE, one graph per segment
 * split at each MoE FFN (the experts run outside, through a MoeLayerExecutor), so a model with
 * M MoE layers makes M + 1 session runs per step.
 *
 *   segment 0:  embed, layers 0..m1-1 (dense), attention of m1, post-attention norm
 *               -> resid_out (N, C), normed_out (N, C)      [executor.run(m1, normed_out)]
 *   segment k:  resid + delta, layers m_k+1 .. m_{k+1}-1, attention of m_{k+1}, norm -> ...
 *   last:       resid + delta, remaining layers, final norm on logit rows, lm_head -> logits (R, V)
 * Every segment also returns the new K/V of its layers: k_new, v_new (S, Tmax, Lseg*NKV*HS).
 * A traced variant (the internals trace) also outputs each layer's softmax weights as
 * attn_probs_<l> (S, NKV, G*Tmax, Pmax+Tmax): the very values its attention multiplies V by. The
 * plain graphs have no such outputs, so untraced steps pay nothing for them.
 *
 * Not a runner (ort-backend.ts feeds and runs these graphs) and not an optimiser: ORT's own
 * graph optimisations (level 'all') run at session creation.
 * References: HF LlamaDecoderLayer / GPT2Block (pre-norm residual blocks), Mixtral sparse MoE block.
 */
import { OnnxGraphBuilder } from '@llm/tensor';
import { addNorm, attention, attentionShared, linear, mlp, norm, type AttentionShared } from './graph-layers';
import type { GraphSpec, GraphWeights, GraphNorm } from './spec';
import { STEP } from './step-io';

/** One graph's share of the model. */
export interface SegmentPlan {
  index: number;
  /** Layers whose attention runs in this segment (their new K/V are its outputs), in order. */
  layers: number[];
  /** Starts from token ids (embedding) rather than resid + delta. */
  first: boolean;
  /** Ends with logits; otherwise ends before the FFN of `layers[last]`, a MoE layer. */
  last: boolean;
}

/** Splits the layers at each MoE layer (see the file comment). */
export function planSegments(spec: GraphSpec): SegmentPlan[] {
  const plans: SegmentPlan[] = [];
  let layers: number[] = [];
  for (let l = 0; l < spec.numLayers; l++) {
    layers.push(l);
    if (spec.moeLayers[l]) {
      plans.push({ index: plans.length, layers, first: plans.length === 0, last: false });
      layers = [];
    }
  }
  plans.push({ index: plans.length, layers, first: plans.length === 0, last: true });
  return plans;
}

/** The residual stream while a graph is being built: x, plus a delta not yet added to it. */
interface Stream {
  x: string;
  delta?: string;
}

/** n = norm(x + delta) (and x := x + delta) with one fused node when a delta is pending. */
function normStream(g: OnnxGraphBuilder, spec: GraphSpec, st: Stream, w: GraphNorm, name: string): string {
  if (!st.delta) return norm(g, spec, st.x, w, name);
  const [n, sum] = addNorm(g, spec, st.x, st.delta, w, name);
  st.x = sum;
  st.delta = undefined;
  return n;
}

function declareInputs(g: OnnxGraphBuilder, spec: GraphSpec, plan: SegmentPlan): Stream {
  const { hiddenSize: C, numKvHeads: NKV, headDim: HS } = spec;
  const G = spec.numHeads / NKV;
  if (plan.layers.length > 0) {
    g.input(STEP.padRows, 'int32', ['S', 'Tmax']);
    g.input(STEP.unpadRows, 'int32', ['N']);
    g.input(STEP.pastRows, 'int32', ['S', NKV, 'Pmax']);
    g.input(STEP.attnMask, 'float32', ['S', 1, `${G}*Tmax`, 'Pmax+Tmax']);
  }
  if (spec.positions === 'rope' && plan.layers.length > 0) {
    g.input(STEP.padPos, 'int64', ['S', 'Tmax']);
    g.input(STEP.ropeCos, 'float32', ['P', HS / 2]);
    g.input(STEP.ropeSin, 'float32', ['P', HS / 2]);
  }
  for (const l of plan.layers) {
    g.input(STEP.kPool(l), 'float32', ['slots*NKV', HS]);
    g.input(STEP.vPool(l), 'float32', ['slots*NKV', HS]);
  }
  if (plan.last) g.input(STEP.logitRows, 'int32', ['R']);
  if (!plan.first) return { x: g.input(STEP.resid, 'float32', ['N', C]), delta: g.input(STEP.delta, 'float32', ['N', C]) };
  g.input(STEP.tokenIds, 'int32', ['N']);
  return { x: '' };
}

function embed(g: OnnxGraphBuilder, spec: GraphSpec, w: GraphWeights): string {
  const C = spec.hiddenSize;
  const tok = g.op('Gather', [g.initializer('embed', w.embed, [spec.vocabSize, C]), STEP.tokenIds], { axis: 0 }); // (N, C)
  if (spec.positions !== 'learned') return tok;
  g.input(STEP.positions, 'int32', ['N']);
  const pos = g.initializer('pos_embed', w.posEmbed as Float32Array, [spec.maxPositions, C]);
  return g.op('Add', [tok, g.op('Gather', [pos, STEP.positions], { axis: 0 })]); // wte[tok] + wpe[pos]
}

/** logits (R, V) = lm_head(final_norm(x + delta)) on the requested rows only. */
function head(g: OnnxGraphBuilder, spec: GraphSpec, w: GraphWeights, st: Stream): string {
  const rows = (v: string) => g.op('Gather', [v, STEP.logitRows], { axis: 0 }); // (N, C) -> (R, C)
  const picked: Stream = { x: rows(st.x), delta: st.delta ? rows(st.delta) : undefined };
  const n = normStream(g, spec, picked, w.finalNorm, 'final_norm');
  g.output(n, STEP.hidden, 'float32', ['R', spec.hiddenSize]); // final-norm rows, for embeddings
  if (w.lmHeadQuant) return linear(g, n, { quant: w.lmHeadQuant }, 'lm_head', spec.hiddenSize, spec.quantKernel); // (R, C) -> (R, V)
  const lmHead = w.lmHead ? g.initializer('lm_head', w.lmHead, [spec.vocabSize, spec.hiddenSize]) : 'embed';
  if (!w.lmHead && !g.hasValue('embed')) g.initializer('embed', w.embed, [spec.vocabSize, spec.hiddenSize]);
  return g.op('Gemm', [n, lmHead], { transB: 1 }); // (R, C) x (C, V) -> (R, V)
}

/** Options of buildSegmentGraph. */
export interface SegmentGraphOptions {
  /** Also output each layer's attention weights (attn_probs_<l>) for the internals trace. */
  attentionProbs?: boolean;
}

/** Builds the ONNX bytes of one segment (see planSegments). */
export function buildSegmentGraph(spec: GraphSpec, w: GraphWeights, plan: SegmentPlan, opts: SegmentGraphOptions = {}): Uint8Array {
  const { numKvHeads: NKV, headDim: HS, hiddenSize: C } = spec;
  const g = new OnnxGraphBuilder({ name: `decoder_segment_${plan.index}`, opset: 17, microsoftDomain: true });
  const st = declareInputs(g, spec, plan);
  if (plan.first) st.x = embed(g, spec, w);
  const shared = plan.layers.length > 0 ? attentionShared(g) : undefined;
  const kNew: string[] = [];
  const vNew: string[] = [];
  for (const l of plan.layers) {
    const layer = w.layers[l];
    const n = normStream(g, spec, st, layer.attnNorm, `layers.${l}.attn_norm`);
    const att = attention(g, spec, shared as AttentionShared, n, layer, l);
    kNew.push(att.kNew);
    vNew.push(att.vNew);
    if (opts.attentionProbs) g.output(att.probs, STEP.attnProbs(l), 'float32', ['S', NKV, `${spec.numHeads / NKV}*Tmax`, 'Pmax+Tmax']);
    st.delta = att.out;
    const n2 = normStream(g, spec, st, layer.mlpNorm, `layers.${l}.mlp_norm`);
    if (spec.moeLayers[l]) {
      g.output(st.x, STEP.residOut, 'float32', ['N', C]);
      g.output(n2, STEP.normedOut, 'float32', ['N', C]);
      break;
    }
    if (!layer.mlp) throw new Error(`decoder weights: layers[${l}].mlp is missing on a dense layer`);
    st.delta = mlp(g, spec, n2, layer.mlp, `layers.${l}.mlp`);
  }
  if (plan.last) g.output(head(g, spec, w, st), STEP.logits, 'float32', ['R', spec.vocabSize]);
  const D = plan.layers.length * NKV * HS;
  if (kNew.length > 0) {
    const cat = (xs: string[]) => (xs.length === 1 ? xs[0] : g.op('Concat', xs, { axis: 2 }));
    g.output(cat(kNew), STEP.kNew, 'float32', ['S', 'Tmax', D]);
    g.output(cat(vNew), STEP.vNew, 'float32', ['S', 'Tmax', D]);
  }
  return g.toBytes();
}
