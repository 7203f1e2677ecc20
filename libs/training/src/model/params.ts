/*
 * The trainable parameters of a decoder, named and shaped exactly as the model library's
 * internal weights (libs/model/src/weights/names.ts: HF Llama naming plus GPT-2's extras,
 * linear weights (out, in)), so export is saveModelDir and `--init DIR` is loadModelDir,
 * for every architecture. A tied lm_head is not a separate parameter.
 *
 * Initialisation follows GPT-2 / nanoGPT: N(0, initializer_range²) for matrices and
 * embeddings, residual output projections (o_proj, down_proj, experts' w2) scaled by
 * 1/sqrt(2L), norm weights 1, biases 0. Seeded: same config and seed, same model.
 */
import { expectedWeights, type ModelConfig, type ModelWeights } from '@llm/model';
import { alloc, type DType, Var } from '../autograd/var';
import { Rng } from '../rng';

export type ParamMap = Map<string, Var>;

export interface ParamSpec {
  name: string;
  shape: number[];
}

/** Every trainable parameter, in a fixed order (the order of checkpoints and optimiser state). */
export function paramSpecs(c: ModelConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  for (const [name, shape] of expectedWeights(c)) {
    if (name === 'lm_head.weight' && c.tieWordEmbeddings) continue;
    specs.push({ name, shape });
  }
  return specs;
}

function initKind(name: string): 'ones' | 'zeros' | 'residual' | 'normal' {
  if (/norm\.weight$/.test(name)) return 'ones';
  if (name.endsWith('.bias')) return 'zeros';
  if (/(o_proj|down_proj|\.w2)\.weight$/.test(name)) return 'residual';
  return 'normal';
}

/** Fresh parameters drawn from `seed` (see the file comment for the scheme). */
export function initParams(c: ModelConfig, seed: number, dtype: DType = 'f32'): ParamMap {
  const rng = new Rng(seed);
  const std = c.initializerRange;
  const residualStd = std / Math.sqrt(2 * c.numLayers);
  const params: ParamMap = new Map();
  for (const s of paramSpecs(c)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = alloc(dtype, n);
    const kind = initKind(s.name);
    if (kind === 'ones') data.fill(1);
    else if (kind !== 'zeros') {
      const sd = kind === 'residual' ? residualStd : std;
      for (let i = 0; i < n; i++) data[i] = rng.normal() * sd;
    }
    params.set(s.name, Var.param(data, s.shape, s.name));
  }
  return params;
}

/** Parameters from loaded weights (e.g. `--init DIR`), copied to float32 trainable leaves. */
export function paramsFromWeights(c: ModelConfig, w: ModelWeights): ParamMap {
  const params: ParamMap = new Map();
  for (const s of paramSpecs(c)) {
    const t = w[s.name];
    if (!t) throw new Error(`initial weights: ${s.name} is missing`);
    if (t.shape.join(',') !== s.shape.join(',')) throw new Error(`initial weights: ${s.name} has shape [${t.shape}], expected [${s.shape}]`);
    params.set(s.name, Var.param(Float32Array.from(t.data), [...s.shape], s.name));
  }
  return params;
}

/** The parameters as model-library weights (float32 copies; a tied lm_head aliases the embedding). */
export function paramsToWeights(c: ModelConfig, params: ParamMap): ModelWeights {
  const w: ModelWeights = {};
  for (const s of paramSpecs(c)) {
    const p = getParam(params, s.name);
    if (p.shape.join(',') !== s.shape.join(',')) throw new Error(`model parameters: ${s.name} has shape [${p.shape}], expected [${s.shape}]`);
    w[s.name] = { shape: [...s.shape], data: Float32Array.from(p.data) };
  }
  if (c.tieWordEmbeddings) w['lm_head.weight'] = w['model.embed_tokens.weight'];
  return w;
}

/** Number of scalars in the model (a tied head counted once). */
export function countParams(c: ModelConfig): number {
  return paramSpecs(c).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
}

/** The parameter named `name`, with an error that names it when it is missing. */
export function getParam(params: ParamMap, name: string): Var {
  const p = params.get(name);
  if (!p) throw new Error(`model parameters: missing ${name}`);
  return p;
}
