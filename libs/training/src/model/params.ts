/*
 * The trainable parameters of a decoder, named exactly as in Hugging Face checkpoints so
 * that export is a rename-free write (llama/mixtral: `model.layers.{l}.self_attn.q_proj.weight`,
 * ...; gpt2: `transformer.h.{l}.attn.c_attn.weight`, ...). Every weight matrix is held in the
 * nn.Linear layout (out, in); GPT-2's Conv1D files store (in, out), and export transposes.
 *
 * Initialisation follows GPT-2 / nanoGPT: N(0, 0.02) for matrices and embeddings, with the
 * residual output projections (o_proj, down_proj / w2, c_proj) scaled by 1/sqrt(2L); norm
 * weights 1, biases 0. Seeded, so the same seed gives the same model.
 */
import { alloc, type DType, Var } from '../autograd/var';
import { Rng } from '../rng';
import type { TrainModelConfig } from './config';

export interface ParamSpec {
  name: string;
  shape: number[];
  init: 'normal' | 'residual' | 'ones' | 'zeros';
}

function llamaLayer(c: TrainModelConfig, l: number): ParamSpec[] {
  const p = `model.layers.${l}`;
  const C = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  const specs: ParamSpec[] = [
    { name: `${p}.input_layernorm.weight`, shape: [C], init: 'ones' },
    { name: `${p}.self_attn.q_proj.weight`, shape: [q, C], init: 'normal' },
    { name: `${p}.self_attn.k_proj.weight`, shape: [kv, C], init: 'normal' },
    { name: `${p}.self_attn.v_proj.weight`, shape: [kv, C], init: 'normal' },
    { name: `${p}.self_attn.o_proj.weight`, shape: [C, q], init: 'residual' },
    { name: `${p}.post_attention_layernorm.weight`, shape: [C], init: 'ones' },
  ];
  if (c.arch === 'mixtral') {
    specs.push({ name: `${p}.block_sparse_moe.gate.weight`, shape: [c.numExperts, C], init: 'normal' });
    for (let e = 0; e < c.numExperts; e++) {
      const x = `${p}.block_sparse_moe.experts.${e}`;
      specs.push(
        { name: `${x}.w1.weight`, shape: [I, C], init: 'normal' },
        { name: `${x}.w3.weight`, shape: [I, C], init: 'normal' },
        { name: `${x}.w2.weight`, shape: [C, I], init: 'residual' },
      );
    }
  } else {
    specs.push(
      { name: `${p}.mlp.gate_proj.weight`, shape: [I, C], init: 'normal' },
      { name: `${p}.mlp.up_proj.weight`, shape: [I, C], init: 'normal' },
      { name: `${p}.mlp.down_proj.weight`, shape: [C, I], init: 'residual' },
    );
  }
  return specs;
}

function gpt2Layer(c: TrainModelConfig, l: number): ParamSpec[] {
  const p = `transformer.h.${l}`;
  const C = c.hiddenSize;
  const I = c.intermediateSize;
  return [
    { name: `${p}.ln_1.weight`, shape: [C], init: 'ones' },
    { name: `${p}.ln_1.bias`, shape: [C], init: 'zeros' },
    { name: `${p}.attn.c_attn.weight`, shape: [3 * C, C], init: 'normal' },
    { name: `${p}.attn.c_attn.bias`, shape: [3 * C], init: 'zeros' },
    { name: `${p}.attn.c_proj.weight`, shape: [C, C], init: 'residual' },
    { name: `${p}.attn.c_proj.bias`, shape: [C], init: 'zeros' },
    { name: `${p}.ln_2.weight`, shape: [C], init: 'ones' },
    { name: `${p}.ln_2.bias`, shape: [C], init: 'zeros' },
    { name: `${p}.mlp.c_fc.weight`, shape: [I, C], init: 'normal' },
    { name: `${p}.mlp.c_fc.bias`, shape: [I], init: 'zeros' },
    { name: `${p}.mlp.c_proj.weight`, shape: [C, I], init: 'residual' },
    { name: `${p}.mlp.c_proj.bias`, shape: [C], init: 'zeros' },
  ];
}

/** Every parameter of the model, in a fixed order (the order of checkpoints and optimiser state). */
export function paramSpecs(c: TrainModelConfig): ParamSpec[] {
  const C = c.hiddenSize;
  const V = c.vocabSize;
  const specs: ParamSpec[] = [];
  if (c.arch === 'gpt2') {
    specs.push({ name: 'transformer.wte.weight', shape: [V, C], init: 'normal' });
    specs.push({ name: 'transformer.wpe.weight', shape: [c.maxPositions, C], init: 'normal' });
    for (let l = 0; l < c.numLayers; l++) specs.push(...gpt2Layer(c, l));
    specs.push({ name: 'transformer.ln_f.weight', shape: [C], init: 'ones' });
    specs.push({ name: 'transformer.ln_f.bias', shape: [C], init: 'zeros' });
  } else {
    specs.push({ name: 'model.embed_tokens.weight', shape: [V, C], init: 'normal' });
    for (let l = 0; l < c.numLayers; l++) specs.push(...llamaLayer(c, l));
    specs.push({ name: 'model.norm.weight', shape: [C], init: 'ones' });
  }
  if (!c.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [V, C], init: 'normal' });
  return specs;
}

export type ParamMap = Map<string, Var>;

/** Fresh parameters drawn from `seed` (see the file comment for the scheme). */
export function initParams(c: TrainModelConfig, seed: number, dtype: DType = 'f32'): ParamMap {
  const rng = new Rng(seed);
  const std = 0.02;
  const residualStd = std / Math.sqrt(2 * c.numLayers);
  const params: ParamMap = new Map();
  for (const s of paramSpecs(c)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = alloc(dtype, n);
    if (s.init === 'ones') data.fill(1);
    else if (s.init !== 'zeros') {
      const sd = s.init === 'residual' ? residualStd : std;
      for (let i = 0; i < n; i++) data[i] = rng.normal() * sd;
    }
    params.set(s.name, Var.param(data, s.shape, s.name));
  }
  return params;
}

/** Number of scalars in the model. */
export function countParams(c: TrainModelConfig): number {
  return paramSpecs(c).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
}

/** The parameter named `name`, with an error that names it when it is missing. */
export function getParam(params: ParamMap, name: string): Var {
  const p = params.get(name);
  if (!p) throw new Error(`model parameters: missing ${name}`);
  return p;
}
