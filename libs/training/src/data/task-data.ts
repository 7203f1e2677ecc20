/*
 * Batches and evaluation for synthetic tasks. A row is prompt + answer + <eos>, encoded by a
 * TaskCodec: the task's character vocabulary by default, or any tokenizer (e.g. byte-level, so
 * a served model accepts every prompt; prompt and answer are encoded separately, as at serving
 * time the prompt is encoded alone and the answer generated). Inputs are the row without its last token, padded with
 * <eos>; targets are the row shifted by one, with ignoreIndex on prompt positions and
 * padding, so only the answer and the closing <eos> are learned.
 *   row      p0 p1 p2 a0 a1 eos
 *   inputs   p0 p1 p2 a0 a1 | pad...
 *   targets  -  -  a0 a1 eos| -  ...
 * The exact-match evaluator decodes greedily from each prompt and compares the text
 * produced before <eos> with the answer.
 *
 * Not stochastic at evaluation: a fixed seed draws the evaluation set.
 */
import type { Batch } from '../model/loss';
import { Rng } from '../rng';
import { CharVocab } from './char-vocab';
import type { Tokenizer } from '@llm/tokenizer';
import type { SyntheticTask, TaskExample } from './tasks';

export const IGNORE_INDEX = -100;

/** Text <-> ids for task rows; eosId ends every answer. */
export interface TaskCodec {
  readonly size: number;
  readonly eosId: number;
  encode(text: string): number[];
  /** Text of the ids, special tokens left out. */
  decode(ids: ArrayLike<number>): string;
}

/**
 * A tokenizer as a task codec; it must have an end-of-text special token (or `eosToken`). With
 * `eosToken` (chat tasks) special tokens in the text encode as their ids; otherwise text is ordinary.
 */
export function tokenizerCodec(tok: Tokenizer, source: string, eosToken?: string): TaskCodec {
  const eosId = eosToken ? tok.specialTokens.get(eosToken) : (tok.specialTokens.get('<|endoftext|>') ?? tok.specialTokens.get('</s>'));
  if (eosId === undefined) throw new Error(`${source} has no ${eosToken ?? '<|endoftext|> or </s>'} special token (task answers end with one)`);
  return {
    size: tok.vocabSize,
    eosId,
    encode: (text) => (eosToken ? tok.encode(text, { allowedSpecial: 'all', addSpecialTokens: false }) : tok.encodeOrdinary(text)),
    decode: (ids) => tok.decode(Array.from(ids), { skipSpecialTokens: true }),
  };
}

export class TaskBatches {
  readonly vocab: TaskCodec;
  readonly T: number;
  private readonly rng: Rng;

  constructor(
    readonly task: SyntheticTask,
    readonly B: number,
    seed: number,
    codec?: TaskCodec,
  ) {
    this.vocab = codec ?? new CharVocab(task.alphabet);
    this.T = task.maxLen;
    this.rng = new Rng(seed);
  }

  /** One row's inputs and targets (length T each); only answers and their <eos> are learned. */
  encodeRow(ex: TaskExample): { inputs: number[]; targets: number[] } {
    const row: number[] = [];
    const learn: boolean[] = [];
    const push = (ids: number[], learned: boolean) => ids.forEach((id) => (row.push(id), learn.push(learned)));
    const parts = [{ context: ex.prompt, answer: ex.answer }, ...(ex.turns ?? [])];
    for (const part of parts) {
      push(this.vocab.encode(part.context), false);
      push([...this.vocab.encode(part.answer), this.vocab.eosId], true);
    }
    if (row.length - 1 > this.T) throw new Error(`task ${this.task.name}: example of ${row.length - 1} tokens is longer than maxLen ${this.T}`);
    const inputs = new Array<number>(this.T).fill(this.vocab.eosId);
    const targets = new Array<number>(this.T).fill(IGNORE_INDEX);
    for (let i = 0; i < row.length - 1; i++) {
      inputs[i] = row[i];
      if (learn[i + 1]) targets[i] = row[i + 1];
    }
    return { inputs, targets };
  }

  next(): Batch {
    const { B, T } = this;
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const r = this.encodeRow(this.task.sample(this.rng));
      inputs.set(r.inputs, b * T);
      targets.set(r.targets, b * T);
    }
    return { inputs, targets, B, T };
  }

  getState(): number {
    return this.rng.getState();
  }

  setState(s: number): void {
    this.rng.setState(s);
  }
}

/** `n` examples drawn with `seed` (the held-out evaluation set). */
export function evalSet(task: SyntheticTask, n: number, seed: number): TaskExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => task.sample(rng));
}

/**
 * Multi-turn examples as one single-turn example per turn, each prompt the whole conversation
 * before that turn (earlier answers teacher-forced) with the end-of-turn token text between.
 */
export function expandTurns(examples: TaskExample[], eosText: string): TaskExample[] {
  return examples.flatMap((ex) => {
    const out: TaskExample[] = [{ prompt: ex.prompt, answer: ex.answer }];
    let text = ex.prompt + ex.answer + eosText;
    for (const t of ex.turns ?? []) {
      out.push({ prompt: text + t.context, answer: t.answer });
      text += t.context + t.answer + eosText;
    }
    return out;
  });
}

/**
 * Greedy continuation of many prompts at once: given a batch of equal-length prompts
 * returns each one's generated ids (stopping at <eos> or maxNew).
 */
export type BatchGreedy = (prompts: number[][], maxNew: number, eosId: number) => Promise<number[][]>;

export interface ExactMatchResult {
  accuracy: number;
  correct: number;
  total: number;
  /** A few wrong answers, for reports. */
  failures: Array<{ prompt: string; expected: string; got: string }>;
}

export async function exactMatch(greedy: BatchGreedy, vocab: TaskCodec, examples: TaskExample[]): Promise<ExactMatchResult> {
  // Batches of prompts with the same number of tokens.
  const byLen = new Map<number, number[]>();
  const encoded = examples.map((ex) => vocab.encode(ex.prompt));
  encoded.forEach((ids, i) => byLen.set(ids.length, [...(byLen.get(ids.length) ?? []), i]));
  let correct = 0;
  const failures: ExactMatchResult['failures'] = [];
  for (const idx of byLen.values()) {
    const maxNew = Math.max(...idx.map((i) => examples[i].answer.length)) + 1;
    const outs = await greedy(idx.map((i) => encoded[i]), maxNew, vocab.eosId);
    idx.forEach((i, j) => {
      const ids = outs[j];
      const cut = ids.indexOf(vocab.eosId);
      const got = vocab.decode(cut >= 0 ? ids.slice(0, cut) : ids);
      const ok = got === examples[i].answer && cut >= 0;
      if (ok) correct++;
      else if (failures.length < 5) failures.push({ prompt: examples[i].prompt, expected: examples[i].answer, got });
    });
  }
  return { accuracy: examples.length ? correct / examples.length : 0, correct, total: examples.length, failures };
}
