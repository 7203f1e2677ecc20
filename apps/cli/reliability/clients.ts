/**
 * The suite's clients, each call ending in one outcome:
 *   ok        finished (a finish reason and, for gRPC, usage) with the expected tokens or text
 *   wrong     finished with other tokens or text than expected
 *   explicit  the platform answered with an error (gRPC status, HTTP status or an SSE error event)
 *   hung      no answer and no error by the request's deadline (DEADLINE_EXCEEDED counts here)
 *   lost      the stream ended without a finish and without an error
 * A stream can be left early (`leaveAfter` chunks: the disconnect scenarios).
 *
 * What it is not: a load generator with pacing; callers decide concurrency.
 */
import { connectGrpc, Status } from '@llm/platform';
import { inference } from '@llm/proto';

export type Kind = 'ok' | 'wrong' | 'explicit' | 'hung' | 'lost' | 'left';

export interface Outcome {
  kind: Kind;
  /** gRPC status name or HTTP status, for explicit errors. */
  code?: string;
  tokens: number[];
  text: string;
}

export type InferenceConn = ReturnType<typeof connectGrpc<typeof inference.InferenceDefinition>>;

export interface StreamCall {
  prompt: number[];
  maxTokens: number;
  deadlineMs: number;
  /** The tokens (gRPC) a correct answer has; undefined: any finished answer is ok. */
  expected?: number[];
  leaveAfter?: number;
  /** Called with the number of tokens received so far. */
  onProgress?: (numTokens: number) => void;
}

function classifyError(err: unknown): Outcome {
  const code = (err as { code?: number }).code;
  if (typeof code === 'number' && code in Status) {
    if (code === Status.DEADLINE_EXCEEDED) return { kind: 'hung', tokens: [], text: '' };
    return { kind: 'explicit', code: Status[code], tokens: [], text: '' };
  }
  return { kind: 'explicit', code: 'transport', tokens: [], text: '' };
}

/** A gRPC Generate stream with a deadline, classified. */
export async function grpcStream(conn: InferenceConn, c: StreamCall): Promise<Outcome> {
  const tokens: number[] = [];
  let finished = false;
  let chunks = 0;
  const ac = new AbortController();
  try {
    const req = { promptTokenIds: c.prompt, sampling: { temperature: 0, maxTokens: c.maxTokens, ignoreEos: true } };
    for await (const d of conn.client.generate(req, { deadline: c.deadlineMs, signal: ac.signal })) {
      if (d.tokenOffset !== tokens.length) return { kind: 'wrong', code: 'offset', tokens, text: '' };
      tokens.push(...d.tokenIds);
      c.onProgress?.(tokens.length);
      if (d.usage) finished = true;
      if (c.leaveAfter !== undefined && ++chunks >= c.leaveAfter) {
        ac.abort();
        return { kind: 'left', tokens, text: '' };
      }
    }
  } catch (err) {
    if (ac.signal.aborted) return { kind: 'left', tokens, text: '' };
    return { ...classifyError(err), tokens };
  }
  if (!finished) return { kind: 'lost', tokens, text: '' };
  if (c.expected && tokens.join(',') !== c.expected.join(',')) return { kind: 'wrong', tokens, text: '' };
  return { kind: 'ok', tokens, text: '' };
}

/** A gRPC Complete with a deadline, classified against the expected tokens. */
export async function grpcUnary(conn: InferenceConn, c: StreamCall): Promise<Outcome> {
  try {
    const res = await conn.client.complete({ promptTokenIds: c.prompt, sampling: { temperature: 0, maxTokens: c.maxTokens, ignoreEos: true } }, { deadline: c.deadlineMs });
    const tokens = res.choices[0]?.tokenIds ?? [];
    if (!res.choices[0]?.finishReason) return { kind: 'lost', tokens, text: '' };
    if (c.expected && tokens.join(',') !== c.expected.join(',')) return { kind: 'wrong', tokens, text: '' };
    return { kind: 'ok', tokens, text: res.choices[0].text };
  } catch (err) {
    return classifyError(err);
  }
}

/** An OpenAI SSE stream (/v1/completions, token-id prompt), classified against the expected text. */
export async function httpStream(http: string, c: StreamCall & { expectedText?: string }): Promise<Outcome> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error('deadline')), c.deadlineMs);
  let text = '';
  let finished = false;
  let chunks = 0;
  try {
    const res = await fetch(`http://${http}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
      body: JSON.stringify({ prompt: c.prompt, max_tokens: c.maxTokens, temperature: 0, ignore_eos: true, stream: true }),
    });
    if (res.status !== 200) return { kind: 'explicit', code: `HTTP ${res.status}`, tokens: [], text: await res.text().then(() => '') };
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, at);
        buf = buf.slice(at + 2);
        if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
        const msg = JSON.parse(event.slice(6)) as { error?: { type: string }; choices?: Array<{ text: string; finish_reason: string | null }> };
        if (msg.error) return { kind: 'explicit', code: `SSE ${msg.error.type}`, tokens: [], text };
        const ch = msg.choices?.[0];
        if (ch) {
          text += ch.text;
          if (ch.finish_reason) finished = true;
        }
        if (c.leaveAfter !== undefined && ++chunks >= c.leaveAfter) {
          ac.abort();
          return { kind: 'left', tokens: [], text };
        }
      }
    }
  } catch {
    if (ac.signal.aborted && c.leaveAfter !== undefined && chunks >= c.leaveAfter) return { kind: 'left', tokens: [], text };
    if (ac.signal.aborted) return { kind: 'hung', tokens: [], text };
    return { kind: 'explicit', code: 'transport', tokens: [], text };
  } finally {
    clearTimeout(timer);
  }
  if (!finished) return { kind: 'lost', tokens: [], text };
  if (c.expectedText !== undefined && text !== c.expectedText) return { kind: 'wrong', tokens: [], text };
  return { kind: 'ok', tokens: [], text };
}

/** Runs `n` calls with at most `inFlight` at once, in order. */
export async function pool<T>(n: number, inFlight: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  const lanes = Array.from({ length: Math.min(inFlight, n) }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await call(i);
    }
  });
  await Promise.all(lanes);
  return out;
}
