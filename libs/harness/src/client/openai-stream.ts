/*
 * Chat responses, whole or streamed. A whole response is read as it is; a stream
 * (`data: {chunk}\n\n` ... `data: [DONE]`) is folded chunk by chunk into the same result:
 * content deltas are concatenated, and tool-call deltas are merged by `index` exactly as
 * OpenAI sends them (the first delta of a call carries id, type and name; later ones carry
 * fragments of `arguments` to append).
 *
 * What it is not: an SSE client for other event types (only `data:` lines are read).
 * Reference: OpenAI API reference, chat completion chunk object.
 */
import { EndpointError } from './retry';
import type { ChatMessage, ToolCall, Usage } from './types';

export interface ChatBody {
  message: ChatMessage;
  finish_reason: string;
  usage: Usage;
}

interface WireMessage {
  role?: string;
  content?: string | null;
  tool_calls?: Array<{ index?: number; id?: string; type?: string; function?: { name?: string; arguments?: string } }>;
}

export function usageOf(u: Partial<Usage> | undefined): Usage {
  const p = u?.prompt_tokens ?? 0;
  const c = u?.completion_tokens ?? 0;
  return { prompt_tokens: p, completion_tokens: c, total_tokens: u?.total_tokens ?? p + c };
}

/** A non-streamed chat completion body. */
export function parseChatResponse(body: unknown): ChatBody {
  const b = body as { choices?: Array<{ message?: WireMessage; finish_reason?: string }>; usage?: Usage };
  const choice = b?.choices?.[0];
  if (!choice?.message) throw new EndpointError('chat completion response has no choices[0].message', 200, false);
  const m = choice.message;
  const calls = (m.tool_calls ?? []).map(
    (c, i): ToolCall => ({ id: c.id ?? `call_${i}`, type: 'function', function: { name: c.function?.name ?? '', arguments: c.function?.arguments ?? '' } }),
  );
  const message: ChatMessage = { role: 'assistant', content: m.content ?? null };
  if (calls.length > 0) message.tool_calls = calls;
  return { message, finish_reason: choice.finish_reason ?? '', usage: usageOf(b.usage) };
}

/** Folds stream chunks into one chat result; `push` each parsed chunk, then `result()`. */
export class ChatStreamAccumulator {
  private content = '';
  private sawContent = false;
  private readonly calls: Array<{ id: string; name: string; arguments: string }> = [];
  private finish = '';
  private usage: Usage = usageOf(undefined);

  push(chunk: unknown): void {
    const c = chunk as { choices?: Array<{ delta?: WireMessage; finish_reason?: string | null }>; usage?: Usage | null };
    if (c.usage) this.usage = usageOf(c.usage);
    for (const choice of c.choices ?? []) {
      const d = choice.delta ?? {};
      if (typeof d.content === 'string') {
        this.content += d.content;
        this.sawContent = true;
      }
      for (const t of d.tool_calls ?? []) {
        const i = t.index ?? this.calls.length;
        const slot = (this.calls[i] ??= { id: '', name: '', arguments: '' });
        if (t.id) slot.id = t.id;
        if (t.function?.name) slot.name += t.function.name;
        if (t.function?.arguments) slot.arguments += t.function.arguments;
      }
      if (choice.finish_reason) this.finish = choice.finish_reason;
    }
  }

  result(): ChatBody {
    const message: ChatMessage = { role: 'assistant', content: this.sawContent ? this.content : null };
    const calls = this.calls.filter(Boolean);
    if (calls.length > 0) message.tool_calls = calls.map((c, i) => ({ id: c.id || `call_${i}`, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    return { message, finish_reason: this.finish, usage: this.usage };
  }
}

/** Parses an SSE body into chunks: every `data:` line except `[DONE]`. */
export async function* sseChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') return;
      try {
        yield JSON.parse(data) as unknown;
      } catch {
        throw new EndpointError(`stream chunk is not JSON: ${data.slice(0, 120)}`, 200, false);
      }
    }
  }
}
