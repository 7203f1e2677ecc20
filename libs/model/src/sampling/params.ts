/**
 * Sampling parameters and per-sequence sampling state (token counts for penalties), with
 * validation that names the field and its allowed range. Field names and meanings follow vLLM's
 * SamplingParams (temperature 0 = greedy; top_k 0 / top_p 1 / min_p 0 = off).
 */
export interface SamplingParams {
  /** 0 = greedy (argmax after penalties and bias) */
  temperature: number;
  /** keep the k most likely tokens (0 = off) */
  topK?: number;
  /** keep the smallest set whose probability reaches p (1 = off) */
  topP?: number;
  /** drop tokens whose probability is below minP x the top probability (0 = off) */
  minP?: number;
  /** > 1 discourages tokens seen in prompt or output: l > 0 ? l / r : l * r (1 = off) */
  repetitionPenalty?: number;
  /** subtracted once from every token already in the output */
  presencePenalty?: number;
  /** subtracted per occurrence in the output */
  frequencyPenalty?: number;
  /** added to the logit of a token id */
  logitBias?: Map<number, number>;
  /** seed of the counter-based RNG (u = hash(seed, sampleIndex, position)) */
  seed?: bigint | number;
  /** how many top logprobs to return besides the chosen token's (0 = none) */
  logprobs?: number;
  /**
   * the chosen token's logprob is not wanted: greedy without adjustments or top logprobs returns
   * the argmax with logprob 0, skipping the pass over the vocabulary (the same token either way)
   */
  skipLogprob?: boolean;
}

/** Token counts of one sequence, for penalties. */
export interface SamplingState {
  promptCounts: Map<number, number>;
  outputCounts: Map<number, number>;
}

export function newSamplingState(promptTokens: Iterable<number> = []): SamplingState {
  const promptCounts = new Map<number, number>();
  for (const t of promptTokens) promptCounts.set(t, (promptCounts.get(t) ?? 0) + 1);
  return { promptCounts, outputCounts: new Map() };
}

/** Records a generated token in the state. */
export function recordOutputToken(state: SamplingState, token: number): void {
  state.outputCounts.set(token, (state.outputCounts.get(token) ?? 0) + 1);
}

function range(name: string, v: number | undefined, lo: number, hi: number, loOpen = false): void {
  if (v === undefined) return;
  const ok = Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && v <= hi;
  if (!ok) throw new Error(`sampling ${name}=${v} is out of range (expected ${loOpen ? '>' : '>='} ${lo}${hi === Infinity ? '' : ` and <= ${hi}`})`);
}

/** Throws a clear error for parameters outside their ranges. */
export function validateSamplingParams(p: SamplingParams, vocabSize?: number): void {
  range('temperature', p.temperature, 0, Infinity);
  range('topP', p.topP, 0, 1, true);
  range('minP', p.minP, 0, 1);
  range('repetitionPenalty', p.repetitionPenalty, 0, Infinity, true);
  range('presencePenalty', p.presencePenalty, -2, 2);
  range('frequencyPenalty', p.frequencyPenalty, -2, 2);
  range('logprobs', p.logprobs, 0, vocabSize ?? Infinity);
  if (p.topK !== undefined && !(Number.isInteger(p.topK) && p.topK >= 0)) throw new Error(`sampling topK=${p.topK} is out of range (expected an integer >= 0; 0 = off)`);
  for (const [id, bias] of p.logitBias ?? []) {
    if (!Number.isInteger(id) || id < 0 || (vocabSize !== undefined && id >= vocabSize)) {
      throw new Error(`sampling logitBias has token id ${id} (expected an integer in [0, ${vocabSize ?? 'vocab size'}))`);
    }
    if (!Number.isFinite(bias) || Math.abs(bias) > 100) throw new Error(`sampling logitBias[${id}]=${bias} is out of range (expected -100..100)`);
  }
}
