/*
 * `llm bench` flags -> a plan: which sections (kernel, llama-cpp, threads, e2e, speculative,
 * quant-kernels), which models (the SmolLM-135M shape, models/default), formats, prefill lengths,
 * decode batches, client counts and serving modes, with `--quick` shrinking everything to a CI-sized smoke run (a 2-layer
 * SmolLM shape, few rounds, one small load level). Bad values are one CliError line each.
 * Not the runner: commands/bench.ts runs the plan.
 */
import { CliError } from '../errors';
import type { BenchFormat } from './workload';

export const SECTIONS = ['kernel', 'llama-cpp', 'threads', 'e2e', 'speculative', 'quant-kernels'] as const;
export type Section = (typeof SECTIONS)[number];
export const MODELS = ['smollm', 'default'] as const;
export type BenchModelName = (typeof MODELS)[number];
export const MODES = ['embedded', 'distributed', 'embedded-loop', 'embedded-async', 'embedded-sync', 'distributed-sync'] as const;

export interface BenchFlags {
  quick?: boolean;
  sections?: string;
  models?: string;
  formats?: string;
  prefill?: string;
  decode?: string;
  clients?: string;
  modes?: string;
  rounds?: string;
  threads: string;
  outputTokens?: string;
  context: string;
  maxNumBatchedTokens?: string;
  maxPrefillTokensPerStep?: string;
  maxDecodeDeferMs?: string;
}

export interface BenchPlan {
  quick: boolean;
  sections: Set<Section>;
  models: BenchModelName[];
  smolLayers: number;
  formats: BenchFormat[];
  prefill: number[];
  decode: number[];
  clients: number[];
  modes: Array<(typeof MODES)[number]>;
  rounds: number;
  threads: number;
  outputTokens: number;
  promptTokens: number;
  burst: number;
  burstPrompt: number;
  context: number;
  /** llm serve's --max-num-batched-tokens in the e2e section (undefined: serve's default). */
  maxNumBatchedTokens?: number;
  /** llm serve's --max-prefill-tokens-per-step and --max-decode-defer-ms in the e2e section (undefined: serve's defaults). */
  maxPrefillTokensPerStep?: number;
  maxDecodeDeferMs?: number;
}

function choices<T extends string>(flag: string, v: string, allowed: readonly T[]): T[] {
  const got = v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const g of got) if (!(allowed as readonly string[]).includes(g)) throw new CliError(`--${flag} '${g}' is not one of ${allowed.join(', ')}`);
  if (got.length === 0) throw new CliError(`--${flag} is empty (expected some of ${allowed.join(', ')})`);
  return got as T[];
}

function ints(flag: string, v: string, min: number, max: number): number[] {
  const got = v.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (got.length === 0 || got.some((n) => !Number.isInteger(n) || n < min || n > max)) {
    throw new CliError(`--${flag} must be a comma-separated list of integers in [${min}, ${max}], got '${v}'`);
  }
  return got;
}

export function parseBenchFlags(f: BenchFlags): BenchPlan {
  const q = !!f.quick;
  const one = (flag: string, v: string, min: number, max: number) => ints(flag, v, min, max)[0];
  return {
    quick: q,
    sections: new Set(choices('sections', f.sections ?? 'kernel,llama-cpp,threads,e2e,speculative', SECTIONS)),
    models: choices('models', f.models ?? 'smollm,default', MODELS),
    smolLayers: q ? 2 : 30,
    formats: choices<BenchFormat>('formats', f.formats ?? 'f32,q8_0,q4_0', ['f32', 'q8_0', 'q4_0']),
    prefill: ints('prefill', f.prefill ?? (q ? '128' : '128,512,2048'), 1, 32768),
    decode: ints('decode', f.decode ?? (q ? '1,8' : '1,8,32,64'), 1, 256),
    clients: ints('clients', f.clients ?? (q ? '1,4' : '1,8,32,64'), 1, 256),
    modes: choices('modes', f.modes ?? (q ? 'embedded' : 'embedded,distributed'), MODES),
    rounds: one('rounds', f.rounds ?? (q ? '3' : '12'), 1, 10_000),
    threads: one('threads', f.threads, 1, 256),
    outputTokens: one('output-tokens', f.outputTokens ?? (q ? '8' : '48'), 2, 4096),
    promptTokens: q ? 16 : 32,
    burst: q ? 4 : 32,
    burstPrompt: q ? 32 : 100,
    context: one('context', f.context, 1, 4096),
    maxNumBatchedTokens: f.maxNumBatchedTokens === undefined ? undefined : one('max-num-batched-tokens', f.maxNumBatchedTokens, 1, 1 << 20),
    maxPrefillTokensPerStep: f.maxPrefillTokensPerStep === undefined ? undefined : one('max-prefill-tokens-per-step', f.maxPrefillTokensPerStep, 0, 1 << 20),
    maxDecodeDeferMs: f.maxDecodeDeferMs === undefined ? undefined : one('max-decode-defer-ms', f.maxDecodeDeferMs, 0, 600_000),
  };
}

/** The scheduler flags the e2e section passes to llm serve (only those given). */
export function serveSchedulingArgs(plan: Pick<BenchPlan, 'maxNumBatchedTokens' | 'maxPrefillTokensPerStep' | 'maxDecodeDeferMs'>): string[] {
  const args: string[] = [];
  if (plan.maxNumBatchedTokens !== undefined) args.push('--max-num-batched-tokens', String(plan.maxNumBatchedTokens));
  if (plan.maxPrefillTokensPerStep !== undefined) args.push('--max-prefill-tokens-per-step', String(plan.maxPrefillTokensPerStep));
  if (plan.maxDecodeDeferMs !== undefined) args.push('--max-decode-defer-ms', String(plan.maxDecodeDeferMs));
  return args;
}
