/**
 * The normalised model configuration: one shape for the four supported Hugging Face
 * architectures, parsed from config.json with transformers' defaults for absent optional keys
 * (LlamaConfig, Qwen2Config, MixtralConfig, GPT2Config), and written back the same way.
 * Deliberately not: every HF option. Unsupported ones (sliding-window attention beyond the
 * context, GPT-2's inverse-layer-index scaling, other rope types) are rejected with a clear
 * error rather than silently computed differently.
 */
import type { RopeScaling } from '@llm/tensor';

export type Arch = 'llama' | 'qwen2' | 'mixtral' | 'gpt2';
/** silu (Llama), gelu_tanh (GPT-2 gelu_new / gelu_pytorch_tanh), gelu (exact erf) */
export type HiddenAct = 'silu' | 'gelu_tanh' | 'gelu';

export interface ModelConfig {
  arch: Arch;
  /** HF class name written to config.json `architectures` */
  architecture: string;
  vocabSize: number; // V
  hiddenSize: number; // C
  numLayers: number; // L
  numHeads: number; // NH
  numKvHeads: number; // NKV (divides NH)
  headDim: number; // HS
  intermediateSize: number; // per-expert size for mixtral
  maxPositions: number;
  /** RMSNorm (llama, qwen2, mixtral) or LayerNorm with bias (gpt2) */
  normType: 'rms' | 'layer';
  normEps: number;
  rmsNormEps?: number;
  layerNormEps?: number;
  /** rope (llama, qwen2, mixtral) or learned absolute positions (gpt2) */
  positionEmbedding: 'rope' | 'learned';
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  tieWordEmbeddings: boolean;
  /** bias on q/k/v projections (qwen2, gpt2, llama attention_bias) */
  qkvBias: boolean;
  /** bias on the attention output projection (gpt2, llama attention_bias) */
  attnOutBias: boolean;
  /** bias on MLP projections (gpt2, llama mlp_bias) */
  mlpBias: boolean;
  /** SwiGLU-style gate (llama family) or a plain up -> act -> down MLP (gpt2) */
  mlpGated: boolean;
  /** E: experts per MoE layer (0 = dense) */
  numExperts: number;
  /** experts chosen per token (0 = dense) */
  numExpertsPerTok: number;
  hiddenAct: HiddenAct;
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number | null;
  /** sliding-window size when the checkpoint declares one (attention beyond it is refused) */
  slidingWindow: number | null;
  /** HF's initializer_range (std of random init) */
  initializerRange: number;
  /** the original config.json object (unknown keys are written back unchanged) */
  raw: Record<string, unknown>;
}

const ARCH_BY_CLASS: Record<string, Arch> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  MixtralForCausalLM: 'mixtral',
  GPT2LMHeadModel: 'gpt2',
};
const ARCH_BY_TYPE: Record<string, Arch> = { llama: 'llama', mistral: 'llama', qwen2: 'qwen2', mixtral: 'mixtral', gpt2: 'gpt2' };
export const ARCH_CLASS: Record<Arch, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', mixtral: 'MixtralForCausalLM', gpt2: 'GPT2LMHeadModel' };

/** Reads typed fields with errors naming the source file and key. */
export class ConfigReader {
  constructor(readonly source: string, readonly json: Record<string, unknown>) {}

  fail(key: string, expected: string): never {
    throw new Error(`${this.source}: "${key}" is ${JSON.stringify(this.json[key])} (expected ${expected})`);
  }

  int(key: string, fallback?: number, min = 1): number {
    const v = this.json[key];
    if (v === undefined || v === null) {
      if (fallback === undefined) throw new Error(`${this.source}: missing "${key}" (expected an integer >= ${min})`);
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(key, `an integer >= ${min}`);
    return v;
  }

  num(key: string, fallback: number): number {
    const v = this.json[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(key, 'a positive number');
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.json[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  optId(key: string): number | null {
    const v = this.json[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(key, 'a token id (non-negative integer) or null');
    return v;
  }

  ids(key: string): number[] {
    const v = this.json[key];
    if (v === undefined || v === null) return [];
    const arr = Array.isArray(v) ? v : [v];
    if (!arr.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) this.fail(key, 'a token id or a list of token ids');
    return arr as number[];
  }
}

/** Which architecture a config.json describes (architectures[0], else model_type). */
export function detectArch(r: ConfigReader): { arch: Arch; architecture: string } {
  const archs = r.json.architectures;
  if (Array.isArray(archs) && archs.length > 0) {
    const cls = String(archs[0]);
    const arch = ARCH_BY_CLASS[cls];
    if (!arch) r.fail('architectures', `one of ${Object.keys(ARCH_BY_CLASS).join(', ')}`);
    return { arch, architecture: cls };
  }
  const type = r.json.model_type;
  if (typeof type === 'string' && ARCH_BY_TYPE[type]) return { arch: ARCH_BY_TYPE[type], architecture: ARCH_CLASS[ARCH_BY_TYPE[type]] };
  throw new Error(`${r.source}: no supported "architectures" or "model_type" (expected one of ${Object.keys(ARCH_BY_CLASS).join(', ')})`);
}
