/**
 * Load and disconnect scenarios. Reference answers first: a gRPC Complete per prompt (greedy).
 *   load/grpc, load/http  N concurrent streams; each must finish with the reference tokens (gRPC)
 *                         or the reference text (HTTP)
 *   load/unary            M Completes, at most 64 in flight, against the references
 *   disconnect/grpc|http  K streams left after 2 chunks; afterwards the kv-manager holds no
 *                         sequence and its used blocks are back to the idle number, and the worker
 *                         stops computing (its CPU time stays flat once they are gone)
 *
 * What it is not: a benchmark (no throughput is judged).
 */
import { cpuMs } from './measure';
import { grpcStream, grpcUnary, httpStream, pool, type Outcome } from './clients';
import type { UnderTest } from './platform';
import { emptyRow, type Row } from './table';

export interface Reference {
  prompt: number[];
  tokens: number[];
  text: string;
}

export const MAX_TOKENS = 24;
const DEADLINE_MS = 120_000;

/** Distinct prompts and their greedy unary answers. */
export async function references(u: UnderTest, count: number, maxTokens = MAX_TOKENS): Promise<Reference[]> {
  const conn = u.connect();
  try {
    const out: Reference[] = [];
    for (let i = 0; i < count; i++) {
      const prompt = Array.from({ length: 4 + (i % 6) }, (_, j) => (i * 37 + j * 11 + 3) % 380);
      const res = await conn.client.complete({ promptTokenIds: prompt, sampling: { temperature: 0, maxTokens, ignoreEos: true } });
      out.push({ prompt, tokens: res.choices[0].tokenIds, text: res.choices[0].text });
    }
    return out;
  } finally {
    conn.close();
  }
}

export function tally(row: Row, outcomes: Outcome[]): Row {
  for (const o of outcomes) {
    row.sent++;
    if (o.kind === 'ok' || o.kind === 'left') row.ok++;
    else if (o.kind === 'explicit') {
      row.explicit++;
      row.errors[o.code ?? '?'] = (row.errors[o.code ?? '?'] ?? 0) + 1;
    } else row[o.kind]++;
  }
  return row;
}

async function measured(u: UnderTest, name: string, body: (row: Row) => Promise<Outcome[]>): Promise<Row> {
  const row = emptyRow(name);
  row.kvBefore = await u.kvIdle();
  row.rssBefore = u.rss();
  tally(row, await body(row));
  row.kvAfter = await u.kvIdle();
  row.rssAfter = u.rss();
  return row;
}

export function loadGrpc(u: UnderTest, refs: Reference[], n: number): Promise<Row> {
  return measured(u, `load/grpc ${n} streams`, async () => {
    const conn = u.connect();
    try {
      return await Promise.all(Array.from({ length: n }, (_, i) => refs[i % refs.length]).map((r) => grpcStream(conn, { prompt: r.prompt, maxTokens: MAX_TOKENS, deadlineMs: DEADLINE_MS, expected: r.tokens })));
    } finally {
      conn.close();
    }
  });
}

export function loadHttp(u: UnderTest, refs: Reference[], n: number): Promise<Row> {
  return measured(u, `load/http ${n} streams`, () =>
    Promise.all(Array.from({ length: n }, (_, i) => refs[i % refs.length]).map((r) => httpStream(u.http, { prompt: r.prompt, maxTokens: MAX_TOKENS, deadlineMs: DEADLINE_MS, expectedText: r.text }))),
  );
}

export function loadUnary(u: UnderTest, refs: Reference[], n: number, inFlight: number): Promise<Row> {
  return measured(u, `load/unary ${n} at ${inFlight} in flight`, async () => {
    const conn = u.connect();
    try {
      return await pool(n, inFlight, (i) => grpcUnary(conn, { prompt: refs[i % refs.length].prompt, maxTokens: MAX_TOKENS, deadlineMs: DEADLINE_MS, expected: refs[i % refs.length].tokens }));
    } finally {
      conn.close();
    }
  });
}

/** K long streams left after two chunks; then the pool must be idle and the worker quiet. */
export function disconnects(u: UnderTest, refs: Reference[], k: number, transport: 'grpc' | 'http'): Promise<Row> {
  return measured(u, `disconnect/${transport} ${k} streams left after 2 chunks`, async (row) => {
    const conn = u.connect();
    const long = { maxTokens: 200, deadlineMs: DEADLINE_MS, leaveAfter: 2 };
    try {
      const outcomes = await Promise.all(
        Array.from({ length: k }, (_, i) => refs[i % refs.length]).map((r) => (transport === 'grpc' ? grpcStream(conn, { ...long, prompt: r.prompt }) : httpStream(u.http, { ...long, prompt: r.prompt }))),
      );
      const left = Date.now();
      const idleAfter = await u.kvIdle(10_000);
      const idleMs = Date.now() - left;
      const worker = u.platform.processes['attention-worker']?.pid;
      const cpu0 = cpuMs(worker);
      await new Promise((r) => setTimeout(r, 1000));
      const cpu = cpuMs(worker) - cpu0;
      row.notes.push(`kv idle ${idleMs} ms after the last client left (used blocks ${idleAfter}); worker CPU ${cpu} ms in the next second`);
      if (cpu > 200) row.notes.push('WORKER STILL COMPUTING');
      for (const o of outcomes) if (o.kind !== 'left') o.kind = o.kind === 'ok' ? 'lost' : o.kind; // every stream was meant to be left
      return outcomes;
    } finally {
      conn.close();
    }
  });
}
