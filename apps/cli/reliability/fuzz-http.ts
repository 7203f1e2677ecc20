/**
 * HTTP fuzzing: bodies for /v1/completions and /v1/chat/completions generated with fast-check
 * from the zod schemas (one arbitrary per schema field: the rules' ranges for numbers, the text
 * limits for strings; a field the fuzzer does not know yet gets any JSON), sent in batches with
 * requests whose answers are known, which must come back unchanged. Plus hand-picked hostile
 * requests: malformed bytes, a non-object, 20 MB declared and chunked, a trickled body, nesting
 * 5,000 deep in every field. Judged: no 5xx, no connection dropped, no process restarted.
 *
 * What it is not: a check of each answer's content (a 400's wording is tested elsewhere).
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { chatRequestSchema, completionRequestSchema, SAMPLING_RULES } from '@llm/orchestrator';
import { httpStream, pool, type Outcome } from './clients';
import { hugeString, nested, numberIn, oddString, wrongTypeJson } from './fuzz-values';
import { MAX_TOKENS, tally, type Reference } from './load';
import type { UnderTest } from './platform';
import { settledRss } from './measure';
import { emptyRow, type Row } from './table';

const BOOLS = new Set(['stream', 'ignore_eos', 'skip_special_tokens', 'logprobs']);
const TEXTS = new Set(['model', 'cache_salt', 'user']);

/** JSON text for one field's value. */
function fieldArb(key: string, modelId: string): fc.Arbitrary<string> {
  const j = (a: fc.Arbitrary<unknown>) => a.map((v) => JSON.stringify(v) ?? 'null');
  const rule = (SAMPLING_RULES as Record<string, { min: number; max: number }>)[key === 'logprobs' ? 'top_logprobs' : key === 'max_completion_tokens' ? 'max_tokens' : key];
  if (key === 'max_tokens' || key === 'max_completion_tokens') return fc.oneof({ weight: 6, arbitrary: j(fc.integer({ min: 1, max: 6 })) }, { weight: 2, arbitrary: j(numberIn(rule.min, rule.max)) }, { weight: 1, arbitrary: wrongTypeJson });
  if (rule && !BOOLS.has(key)) return fc.oneof({ weight: 8, arbitrary: j(numberIn(rule.min, rule.max)) }, { weight: 1, arbitrary: wrongTypeJson });
  if (BOOLS.has(key)) return fc.oneof({ weight: 8, arbitrary: j(fc.boolean()) }, { weight: 1, arbitrary: wrongTypeJson });
  if (key === 'model') return fc.oneof({ weight: 6, arbitrary: j(fc.constant(modelId)) }, { weight: 2, arbitrary: j(oddString) }, { weight: 1, arbitrary: j(hugeString) }, { weight: 1, arbitrary: wrongTypeJson });
  if (TEXTS.has(key)) return fc.oneof(j(oddString), j(hugeString), wrongTypeJson);
  if (key === 'seed') return fc.oneof(j(fc.integer({ min: 0, max: 2 ** 31 })), j(fc.bigInt({ min: 0n, max: 2n ** 64n + 5n }).map(String)), j(numberIn(-1, 2 ** 64)), wrongTypeJson);
  if (key === 'stop') return fc.oneof(j(oddString), j(fc.array(oddString, { maxLength: 70 })), j(hugeString), wrongTypeJson);
  if (key === 'stop_token_ids') return fc.oneof(j(fc.array(fc.integer({ min: -5, max: 2 ** 32 + 5 }), { maxLength: 10 })), j(fc.array(fc.nat(383), { minLength: 1100, maxLength: 1100 })), wrongTypeJson);
  if (key === 'logit_bias') return fc.oneof(j(fc.dictionary(fc.nat(500).map(String), numberIn(-100, 100), { maxKeys: 5 })), j(fc.dictionary(fc.string(), fc.double(), { maxKeys: 3 })), wrongTypeJson);
  if (key === 'stream_options') return fc.oneof(j(fc.record({ include_usage: fc.boolean() })), wrongTypeJson);
  if (key === 'prompt') return fc.oneof({ weight: 4, arbitrary: j(fc.string({ maxLength: 40 })) }, { weight: 4, arbitrary: j(fc.array(fc.integer({ min: -1, max: 400 }), { maxLength: 12 })) }, { weight: 1, arbitrary: j(fc.array(fc.string(), { minLength: 2, maxLength: 3 })) }, { weight: 1, arbitrary: j(hugeString) }, { weight: 1, arbitrary: wrongTypeJson });
  if (key === 'messages') {
    const msg = fc.record({ role: fc.oneof(fc.constantFrom('user', 'system', 'assistant'), oddString), content: fc.oneof(fc.string({ maxLength: 30 }), fc.constant(null), fc.array(fc.record({ type: fc.constantFrom('text', 'image'), text: fc.string({ maxLength: 10 }) }), { maxLength: 3 })) });
    return fc.oneof({ weight: 6, arbitrary: j(fc.array(msg, { minLength: 1, maxLength: 4 })) }, { weight: 1, arbitrary: j(fc.constant([])) }, { weight: 1, arbitrary: wrongTypeJson });
  }
  return fc.oneof(j(fc.jsonValue({ maxDepth: 3 })), wrongTypeJson); // a field this fuzzer does not know yet
}

/** A body generated from a schema's fields: each field present or absent, hostile or ordinary. */
export function bodyArb(kind: 'completion' | 'chat', modelId: string): fc.Arbitrary<string> {
  const keys = Object.keys((kind === 'completion' ? completionRequestSchema : chatRequestSchema).shape);
  const required = kind === 'completion' ? 'prompt' : 'messages';
  const entries = keys.map((k) => fc.option(fieldArb(k, modelId), { freq: k === required ? 20 : 2, nil: undefined }).map((v) => (v === undefined ? '' : `${JSON.stringify(k)}:${v}`)));
  return fc.tuple(...entries).map((parts) => `{${parts.filter(Boolean).join(',')}}`);
}

/** A hand-made request that is not a plain JSON POST. */
async function rawRequest(u: UnderTest, bytes: Array<string | Buffer>, gapMs = 0): Promise<string> {
  const [host, port] = u.http.split(':');
  return new Promise((resolve) => {
    const s = connect(Number(port), host);
    let out = '';
    let i = 0;
    const send = () => {
      if (i < bytes.length && !s.destroyed) s.write(bytes[i++], () => (gapMs ? setTimeout(send, gapMs) : send()));
    };
    s.on('connect', send);
    s.on('data', (b) => {
      out += b;
      if (out.includes('\r\n\r\n')) s.destroy(); // the status line and headers are all that is judged
    });
    s.on('close', () => resolve(out));
    s.on('error', () => undefined);
    setTimeout(() => s.destroy(), 30_000);
  });
}

/** A body sent the way HTTP clients send it (fetch: declared length, or chunked from a stream); the status line as text. */
async function fetchStatus(u: UnderTest, body: string | ReadableStream<Uint8Array>): Promise<string> {
  try {
    const res = await fetch(`http://${u.http}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half', signal: AbortSignal.timeout(30_000) } as RequestInit);
    await res.arrayBuffer();
    return `HTTP/1.1 ${res.status}`;
  } catch {
    return 'none';
  }
}

function post(path: string, body: string, extra = ''): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extra}\r\n${body}`;
}

/** A client that trickles its body for longer than the request timeout (the suite sets 10 s): 408 expected. */
function slowBody(u: UnderTest): Promise<string> {
  return rawRequest(u, [`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nConnection: close\r\n\r\n`, '{"pro', 'mpt"', ': "h', 'ello', '", "m'], 2500);
}

/** Hostile requests beyond generated bodies; each must be answered with a 4xx. */
async function hostile(u: UnderTest): Promise<Array<{ what: string; status: string }>> {
  const status = (r: string) => /^HTTP\/1\.1 (\d+)/.exec(r)?.[1] ?? 'none';
  const big = 'a'.repeat(1 << 20);
  const cases: Array<[string, () => Promise<string>]> = [
    ['malformed bytes', () => rawRequest(u, [post('/v1/completions', '\u0000\u00ff{"prompt": }')])],
    ['not an object', () => rawRequest(u, [post('/v1/completions', '[1,2,3]')])],
    ['empty body', () => rawRequest(u, [post('/v1/completions', '')])],
    ['20 MB declared', () => fetchStatus(u, JSON.stringify({ prompt: 'p'.repeat(20 * 1024 * 1024) }))],
    ['20 MB chunked', () => fetchStatus(u, new ReadableStream({ start(c) { for (let i = 0; i < 20; i++) c.enqueue(new TextEncoder().encode(big)); c.close(); } }))],
    ['garbage request line', () => rawRequest(u, ['GARBAGE / HTTP/9.9\r\n\r\n'])],
    ...['prompt', 'stop', 'logit_bias', 'min_p', 'temperature', 'messages', 'model'].map((f): [string, () => Promise<string>] => [`nesting 5,000 deep in ${f}`, () => rawRequest(u, [post('/v1/completions', `{"prompt":"hi","${f}":${nested(5000)}}`)])]),
  ];
  const out: Array<{ what: string; status: string }> = [];
  for (const [what, run] of cases) out.push({ what, status: status(await run()) });
  return out;
}

export async function fuzzHttp(u: UnderTest, refs: Reference[], n: number, seed: number): Promise<Row> {
  const row = emptyRow(`fuzz/http ${n} generated + hostile, good requests mixed in`);
  row.kvBefore = await u.kvIdle();
  row.rssBefore = u.rss();
  const restarts = { ...u.platform.supervisor.restarts };
  const modelId = u.platform.modelId;
  const bodies = fc.sample(fc.tuple(fc.constantFrom<'completion' | 'chat'>('completion', 'chat'), fc.boolean()).chain(([k, s]) => bodyArb(k, modelId).map((b) => [k, s, b] as const)), { numRuns: n, seed });
  const statuses: Record<string, number> = {};
  let dropped = 0;
  let good = 0;
  const goodOutcomes: Outcome[] = [];
  const slow = slowBody(u); // runs alongside the fuzzing (it takes over 10 s by design)
  await pool(bodies.length, 32, async (i) => {
    const [kind] = bodies[i];
    const body = bodies[i][2];
    if (i % 8 === 0) {
      const r = refs[(i / 8) % refs.length];
      goodOutcomes.push(await httpStream(u.http, { prompt: r.prompt, maxTokens: MAX_TOKENS, deadlineMs: 60_000, expectedText: r.text }));
      good++;
    }
    try {
      const res = await fetch(`http://${u.http}/v1/${kind === 'chat' ? 'chat/' : ''}completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(60_000) });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    } catch {
      dropped++;
    }
  });
  const hostileResults = await hostile(u);
  hostileResults.push({ what: 'slow body', status: /^HTTP\/1\.1 (\d+)/.exec(await slow)?.[1] ?? 'none' });
  for (const h of hostileResults) statuses[h.status] = (statuses[h.status] ?? 0) + 1;
  const fiveXx = Object.entries(statuses).filter(([s]) => s.startsWith('5')).reduce((a, [, c]) => a + c, 0);
  const badHostile = hostileResults.filter((h) => !/^4\d\d$/.test(h.status));
  tally(row, goodOutcomes);
  row.sent += bodies.length + hostileResults.length;
  row.ok += bodies.length + hostileResults.length - fiveXx - dropped - badHostile.length;
  row.explicit += fiveXx;
  if (fiveXx) row.errors['5xx'] = fiveXx;
  row.lost += dropped;
  row.kvAfter = await u.kvIdle();
  const rss = await settledRss(() => u.rss());
  row.rssAfter = rss.settled;
  row.notes.push(`RSS right after the run ${Object.entries(rss.immediate).map(([k, v]) => `${k} ${v}`).join(', ')} MB; the table's is the lowest in the 8 s after`);
  const crashed = Object.keys(u.platform.supervisor.restarts).filter((k) => u.platform.supervisor.restarts[k] !== restarts[k]);
  row.notes.push(`statuses ${JSON.stringify(statuses)}; ${good} good requests mixed in; hostile: ${hostileResults.map((h) => `${h.what} ${h.status}`).join(', ')}; connections dropped ${dropped}; processes restarted: ${crashed.length ? crashed.join(', ') : 'none'}`);
  if (badHostile.length) row.notes.push(`HOSTILE NOT 4xx: ${badHostile.map((h) => h.what).join(', ')}`);
  return row;
}
