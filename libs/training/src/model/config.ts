/*
 * Model configs for training are the model library's normalised ModelConfig, built the same
 * way `llm init-model` builds them: a tiny per-architecture default plus `--set key=value`
 * overrides by Hugging Face config.json key names, parsed by parseConfig. So a trained model's
 * config.json is exactly what the loader and the worker read.
 *
 * Not every ModelConfig is trainable here: rope_scaling, sliding windows shorter than the
 * context, and the exact-erf GELU are refused with a message naming the key.
 */
import { type Arch, ARCHS, makeConfig, type ModelConfig } from '@llm/model';

export type { ModelConfig } from '@llm/model';

/** Parses `key=value` strings; values are JSON when they parse (numbers, true/false, null), else strings. */
export function parseSets(sets: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of sets) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--set ${kv}: expected key=value with a config.json key (e.g. --set hidden_size=128)`);
    const raw = kv.slice(eq + 1).trim();
    let v: unknown = raw;
    try {
      v = JSON.parse(raw);
    } catch {
      /* a plain string value such as hidden_act=silu */
    }
    out[kv.slice(0, eq).trim()] = v;
  }
  return out;
}

export interface VocabInfo {
  vocabSize: number;
  bosTokenId: number | null;
  eosTokenId: number | null;
}

/** The config of a new model: arch defaults, then the tokenizer's vocab and special ids, then --set. */
export function trainConfig(arch: string, sets: string[], vocab: VocabInfo): ModelConfig {
  if (!ARCHS.includes(arch as Arch)) throw new Error(`unknown --arch '${arch}' (expected one of ${ARCHS.join(', ')})`);
  const overrides = parseSets(sets);
  if ('vocab_size' in overrides && overrides.vocab_size !== vocab.vocabSize) {
    throw new Error(`--set vocab_size=${overrides.vocab_size} disagrees with the tokenizer's ${vocab.vocabSize} ids (the vocabulary size comes from the tokenizer)`);
  }
  const cfg = makeConfig(arch as Arch, {
    bos_token_id: vocab.bosTokenId,
    eos_token_id: vocab.eosTokenId,
    ...overrides,
    vocab_size: vocab.vocabSize,
  });
  checkTrainable(cfg);
  return cfg;
}

/** Throws naming the first setting training does not implement. */
export function checkTrainable(c: ModelConfig): void {
  if (c.ropeScaling) throw new Error('model config: rope_scaling is not supported for training (remove it or set it to null)');
  if (c.hiddenAct === 'gelu') throw new Error('model config: hidden_act/activation_function "gelu" (exact erf) is not supported for training; use gelu_new or silu');
  if (c.slidingWindow !== null && c.slidingWindow < c.maxPositions) {
    throw new Error(`model config: sliding_window=${c.slidingWindow} is shorter than max_position_embeddings=${c.maxPositions}; training uses full causal attention`);
  }
  if (c.numExperts > 0 && c.arch !== 'mixtral') throw new Error(`model config: experts are only supported for mixtral, not ${c.arch}`);
}

/** Weight of the MoE load-balancing loss: config.json router_aux_loss_coef (HF default 0.001). */
export function routerAuxLossCoef(c: ModelConfig): number {
  const v = c.raw.router_aux_loss_coef;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0.001;
}
