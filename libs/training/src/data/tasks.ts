/*
 * Synthetic sequence tasks generated in code, for tests and demos: each example is a prompt
 * and an exact answer over a small character alphabet. A training row is
 *   prompt + answer + <eos>, loss only on the answer and <eos> (prompt targets ignored),
 * so the model learns p(answer | prompt), and exact match of its greedy answer is the metric.
 *
 *   copy     "abca>"       -> "abca"
 *   reverse  "abca>"       -> "acba"
 *   sort     "3141>"       -> "1134"
 *   add      "037+485="    -> "2250"  (operands zero-padded to D digits; the D+1-digit sum
 *                                       is written least-significant digit first, which makes
 *                                       carries causal - the usual format for small models)
 *   sum      "037+485="    -> "0522"  (the same sum in the usual digit order: harder, since the
 *                                       first digit depends on every carry)
 *   dyck     "(()(?"       -> "N"     (is the bracket string balanced: Y/N; half of them are)
 *   tooladd  a multi-turn chat: sums of 3-5 two-digit numbers through calls to an `add` tool
 *            (tool-task.ts; its own BPE tokenizer and chat template)
 *
 * Not a benchmark suite: sizes are chosen so a tiny model learns them in seconds to minutes.
 */
import { Rng } from '../rng';
import { toolAddTask } from './tool-task';

export interface TaskExample {
  prompt: string;
  answer: string;
  /**
   * Multi-turn examples: after prompt + answer + <eos>, each turn's context (not learned) and
   * answer (learned, then <eos>). The row is p a <eos> c1 a1 <eos> c2 a2 <eos> ...
   */
  turns?: Array<{ context: string; answer: string }>;
}

/** A task's own tokenizer, used instead of a character vocabulary (e.g. BPE with chat special tokens). */
export interface TaskTokenizer {
  /** The tokenizer.json object (deterministic). */
  build(): Record<string, unknown>;
  /** Ends every answer (the end-of-turn token for chat tasks). */
  eosToken: string;
  /** Further ids generation stops at (written to generation_config.json after eosToken). */
  extraEosTokens?: string[];
  /** tokenizer_config.json to export beside the model (chat template, token names). */
  tokenizerConfig?: Record<string, unknown>;
}

export interface SyntheticTask {
  name: string;
  /** Every character prompts and answers use. */
  alphabet: string;
  /** Longest row (prompt + answers), in characters (in tokens for tasks with their own tokenizer). */
  maxLen: number;
  sample(rng: Rng): TaskExample;
  /** The task's own tokenizer; without it, a character vocabulary over `alphabet`. */
  tokenizer?: TaskTokenizer;
}

function randomString(rng: Rng, chars: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += chars[rng.int(chars.length)];
  return s;
}

function copyLike(name: string, n: number, f: (s: string) => string, chars: string): SyntheticTask {
  return {
    name,
    alphabet: `${chars}>`,
    maxLen: 2 * n + 1,
    sample: (rng) => {
      const s = randomString(rng, chars, n);
      return { prompt: `${s}>`, answer: f(s) };
    },
  };
}

function addTask(D: number, reversed: boolean): SyntheticTask {
  return {
    name: `${reversed ? 'add' : 'sum'}${D}`,
    alphabet: '0123456789+=',
    maxLen: 2 * D + 2 + D + 1,
    sample: (rng) => {
      const a = rng.int(10 ** D);
      const b = rng.int(10 ** D);
      const pad = (x: number, w: number) => String(x).padStart(w, '0');
      const sum = pad(a + b, D + 1);
      return { prompt: `${pad(a, D)}+${pad(b, D)}=`, answer: reversed ? [...sum].reverse().join('') : sum };
    },
  };
}

function balanced(s: string): boolean {
  let depth = 0;
  for (const ch of s) {
    depth += ch === '(' ? 1 : -1;
    if (depth < 0) return false;
  }
  return depth === 0;
}

function dyckTask(n: number): SyntheticTask {
  return {
    name: 'dyck',
    alphabet: '()?YN',
    maxLen: n + 2,
    sample: (rng) => {
      let s: string;
      if (rng.next() < 0.5) {
        // A balanced string: a random walk that never dips below 0 and closes at the end.
        s = '';
        let open = 0;
        for (let i = 0; i < n; i++) {
          const left = n - i;
          const canOpen = open < left - 1;
          if (open > 0 && (!canOpen || rng.next() < 0.5)) {
            s += ')';
            open--;
          } else {
            s += '(';
            open++;
          }
        }
      } else {
        do s = randomString(rng, '()', n);
        while (balanced(s));
      }
      return { prompt: `${s}?`, answer: balanced(s) ? 'Y' : 'N' };
    },
  };
}

const sortChars = (s: string): string => [...s].sort().join('');
const reverse = (s: string): string => [...s].reverse().join('');

/** name -> factory. Names may carry a size: copy4, sort5, add3 ... (digits after the name). */
const TASKS: Record<string, (n?: number) => SyntheticTask> = {
  copy: (n = 4) => copyLike(`copy${n}`, n, (s) => s, 'abcdef'),
  reverse: (n = 4) => copyLike(`reverse${n}`, n, reverse, 'abcdef'),
  sort: (n = 4) => copyLike(`sort${n}`, n, sortChars, '0123456789'),
  add: (n = 2) => addTask(n, true),
  sum: (n = 2) => addTask(n, false),
  dyck: (n = 8) => dyckTask(n % 2 === 0 ? n : n + 1),
  tooladd: (n = 5) => toolAddTask(n),
};

export const TASK_NAMES = Object.keys(TASKS);

/** The task called `name` (e.g. "sort", "sort6", "add3"); unknown names list the known ones. */
export function getTask(name: string): SyntheticTask {
  const m = /^([a-z]+)(\d*)$/.exec(name);
  const make = m ? TASKS[m[1]] : undefined;
  if (!m || !make) throw new Error(`unknown task '${name}' (known: ${TASK_NAMES.join(', ')}; a size may follow, e.g. sort6, add3)`);
  const n = m[2] ? Number(m[2]) : undefined;
  if (n !== undefined && !(n >= 1 && n <= 32)) throw new Error(`task '${name}': size must be between 1 and 32`);
  return make(n);
}
