/*
 * Checks of an internals trace (the HTTP JSON form) against independent expectations, shared by
 * the embedded and distributed tests:
 * - tokenizer: the pieces' texts concatenate to the prompt, their ids to the prompt's ids, and each
 *   piece's merges, replayed on its initial symbols, give exactly its tokens (and the vocabulary's ids);
 * - attention: every row equals plainForward's naive causal softmax of q . k / sqrt(d_k) (1e-5) and sums to 1;
 * - moe: the gate weights are the gating function of the trace's own probabilities (top-k, renormalised)
 *   and equal plainForward's gating.
 * What it is not: a fixture; every expected number is computed here or by the float64 forward.
 */
import { join } from 'node:path';
import { readSafetensors, type LoadedModel } from '@llm/model';
import { plainForward } from '@llm/model/testing';
import type { Tokenizer } from '@llm/tokenizer';

/** Trace JSON, read loosely. */
export type TraceJson = any;

export function expectTokenizerTrace(t: TraceJson, tokenizer: Tokenizer, prompt: string, promptIds: number[]): void {
  const pieces = t.tokenizer.pieces;
  expect(pieces.map((p: TraceJson) => p.text).join('')).toBe(prompt);
  expect(pieces.flatMap((p: TraceJson) => p.ids)).toEqual(promptIds);
  for (const p of pieces) {
    let symbols: string[] = [...p.initial];
    for (const m of p.merges) {
      expect([symbols[m.index], symbols[m.index + 1]]).toEqual([m.left, m.right]); // merges apply in order
      symbols = [...symbols.slice(0, m.index), m.merged, ...symbols.slice(m.index + 2)];
      expect(tokenizer.tokenToId(m.merged)).toBe(m.merged_id);
    }
    expect(symbols).toEqual(p.tokens);
    expect(p.tokens.map((tok: string) => tokenizer.tokenToId(tok))).toEqual(p.ids);
  }
}

/** The float64 reference's attention rows and gating over `tokens`, keyed layer/head/position and layer/position. */
export function plainReference(model: LoadedModel, tokens: number[]) {
  const rows = new Map<string, number[]>();
  const gates = new Map<string, { probs: number[]; experts: number[]; weights: number[] }>();
  plainForward(model.config, readSafetensors(join(model.dir, 'model.safetensors')), tokens, {
    attention: (l, h, t, p) => rows.set(`${l}/${h}/${t}`, p),
    moe: (l, t, probs, experts, weights) => gates.set(`${l}/${t}`, { probs, experts, weights }),
  });
  return { rows, gates };
}

export function expectAttentionRows(t: TraceJson, ref: ReturnType<typeof plainReference>, numHeads: number, numKvHeads: number): number {
  for (const r of t.attention) {
    const want = ref.rows.get(`${r.layer}/${r.head}/${r.query_position}`) as number[];
    expect(r.kv_head).toBe(Math.floor(r.head / (numHeads / numKvHeads)));
    expect(r.weights).toHaveLength(r.query_position + 1);
    r.weights.forEach((w: number, j: number) => {
      if (Math.abs(w - want[j]) > 1e-5) throw new Error(`layer ${r.layer} head ${r.head} position ${r.query_position} key ${j}: ${w} vs naive ${want[j]}`);
    });
    expect(Math.abs(r.weights.reduce((a: number, b: number) => a + b, 0) - 1)).toBeLessThan(1e-5);
  }
  return t.attention.length;
}

export function expectRouting(t: TraceJson, ref: ReturnType<typeof plainReference>, k: number): void {
  for (const m of t.moe) {
    // the gating function applied to the trace's own probabilities: top-k, weights p_e / sum of the k
    const order = m.gate_probs.map((p: number, e: number) => [p, e]).sort((a: number[], b: number[]) => b[0] - a[0] || a[1] - b[1]).slice(0, k);
    const z = order.reduce((s: number, [p]: number[]) => s + p, 0);
    expect(m.experts).toEqual(order.map(([, e]: number[]) => e));
    m.weights.forEach((w: number, j: number) => expect(Math.abs(w - order[j][0] / z)).toBeLessThan(1e-5));
    const want = ref.gates.get(`${m.layer}/${m.position}`) as { probs: number[]; experts: number[] };
    m.gate_probs.forEach((p: number, e: number) => expect(Math.abs(p - want.probs[e])).toBeLessThan(1e-5));
    expect(m.experts).toEqual(want.experts);
  }
}
