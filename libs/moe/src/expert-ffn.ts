/**
 * One expert's SwiGLU feed-forward network over a batch of rows, and its plain-JS reference.
 *
 *   expert(x) = w2 · (silu(w1 · x) * (w3 · x)),  silu(a) = a * sigmoid(a)
 *   x (N, C); w1, w3 (I, C); w2 (C, I)  — HF Mixtral layout (`experts.{e}.w1/w2/w3.weight`).
 *
 * `ExpertFfn` is the seam between dispatch/combine and the matmul backend: the JS reference
 * here (tests, tiny models) and the ONNX Runtime one (ort-expert-ffn.ts; the default for real sizes).
 * Not here: gating, grouping, combining.
 */
import type { NBitsWeight } from '@llm/tensor';
import { check } from './errors';

/** The three projection matrices of one expert, row-major, HF layout. */
export interface ExpertWeights {
  /** (I, C) gate projection */
  w1: Float32Array;
  /** (C, I) down projection */
  w2: Float32Array;
  /** (I, C) up projection */
  w3: Float32Array;
  /**
   * The same matrices block-quantized, in MatMulNBits' layout: the ONNX Runtime backend runs
   * these, and the f32 arrays above are then read only by the JS reference (a caller may make
   * them lazy getters, so a quantized model never materialises them).
   */
  quantized?: { w1: NBitsWeight; w2: NBitsWeight; w3: NBitsWeight };
}

/** A runnable expert: (N, C) rows in, (N, C) rows out. */
export interface ExpertFfn {
  run(x: Float32Array, numRows: number): Promise<Float32Array>;
  /** Releases native resources (sessions); the FFN is unusable afterwards. */
  dispose(): Promise<void>;
}

/** Builds the runnable expert from its weights; C = hiddenSize, I = intermediateSize. */
export type ExpertBackend = (weights: ExpertWeights, hiddenSize: number, intermediateSize: number) => ExpertFfn;

/** Checks the three matrices' lengths; `field` names the expert (e.g. `layers[3].experts[5]`). */
export function checkExpertWeights(w: ExpertWeights, C: number, I: number, field: string): void {
  if (w.quantized) {
    const q = w.quantized;
    for (const [name, m, N, K] of [['w1', q.w1, I, C], ['w2', q.w2, C, I], ['w3', q.w3, I, C]] as const) {
      check(m.N === N && m.K === K, `${field}.quantized.${name}`, () => `${field}.quantized.${name} must be (${N}, ${K}), got (${m.N}, ${m.K})`);
    }
    return; // the f32 arrays may be lazy: reading them here would materialise them
  }
  for (const [name, arr] of [['w1', w.w1], ['w2', w.w2], ['w3', w.w3]] as const) {
    check(arr instanceof Float32Array && arr.length === C * I, `${field}.${name}`, () =>
      `${field}.${name} must be a Float32Array of ${C * I} (${name === 'w2' ? `C=${C} x I=${I}` : `I=${I} x C=${C}`}) ` +
        `values, got ${arr instanceof Float32Array ? arr.length : typeof arr}`);
  }
}

/** SwiGLU with plain loops; the reference the ORT path is tested against. */
export class JsExpertFfn implements ExpertFfn {
  constructor(
    private readonly w: ExpertWeights,
    private readonly C: number,
    private readonly I: number,
  ) {}

  async run(x: Float32Array, numRows: number): Promise<Float32Array> {
    const { C, I } = this;
    const { w1, w2, w3 } = this.w;
    const out = new Float32Array(numRows * C);
    const h = new Float32Array(I);
    for (let n = 0; n < numRows; n++) {
      const xo = n * C;
      for (let i = 0; i < I; i++) {
        let a = 0; // (w1 x)_i
        let b = 0; // (w3 x)_i
        const wo = i * C;
        for (let c = 0; c < C; c++) {
          a += w1[wo + c] * x[xo + c];
          b += w3[wo + c] * x[xo + c];
        }
        h[i] = (a / (1 + Math.exp(-a))) * b; // silu(a) * b
      }
      for (let c = 0; c < C; c++) {
        let acc = 0;
        const wo = c * I;
        for (let i = 0; i < I; i++) acc += w2[wo + i] * h[i];
        out[xo + c] = acc;
      }
    }
    return out;
  }

  async dispose(): Promise<void> {
    // Nothing native to release.
  }
}

export const jsExpertBackend: ExpertBackend = (w, C, I) => new JsExpertFfn(w, C, I);
