/*
 * Keeping a conversation inside the model's window, by configuration:
 *   truncate  - drop the oldest turns;
 *   summarise - replace the oldest turns with a summary the model writes (one system message).
 * The head (leading system messages and the first user message: the task) is always kept, and
 * an assistant message with tool calls is kept or dropped together with the tool results that
 * answer it (a result without its call would be invalid). The budget is
 *   count(messages, tools) + reserve <= maxTokens
 * where `reserve` leaves room for the reply.
 *
 * What it is not: retrieval of dropped turns (see rag/), or a per-message token cache.
 * Reference: sliding-window / summary memory as in LangChain's ConversationSummaryBufferMemory.
 */
import type { ChatMessage, ModelClient, ToolSpec } from '../client/types';
import type { TokenCounter } from './tokens';

export interface ContextPolicy {
  /** The model's context window in tokens. */
  maxTokens: number;
  /** Tokens kept free for the reply (default 256). */
  reserveTokens?: number;
  strategy: 'truncate' | 'summarise';
  /** Writes the summary of dropped turns (default: ask the agent's model, see modelSummariser). */
  summarise?: (dropped: ChatMessage[], previous: string | null) => Promise<string>;
}

export interface FitResult {
  messages: ChatMessage[];
  tokens: number;
  /** Messages left out (or summarised) this time. */
  dropped: number;
  summary: string | null;
}

export class ContextOverflowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContextOverflowError';
  }
}

export class ContextManager {
  private summary: { covers: number; text: string } | null = null;

  constructor(
    private readonly counter: TokenCounter,
    private readonly policy: ContextPolicy,
  ) {
    if (!(policy.maxTokens > 0)) throw new Error(`context maxTokens must be positive, got ${policy.maxTokens}`);
  }

  async fit(messages: ChatMessage[], tools?: ToolSpec[]): Promise<FitResult> {
    const budget = this.policy.maxTokens - (this.policy.reserveTokens ?? 256);
    const all = this.counter.count(messages, tools);
    if (all <= budget) return { messages, tokens: all, dropped: 0, summary: null };
    const headLen = headLength(messages);
    const head = messages.slice(0, headLen);
    const units = turnUnits(messages.slice(headLen));
    for (let drop = 1; drop < units.length; drop++) {
      const droppedMsgs = units.slice(0, drop).flat();
      const kept = units.slice(drop).flat();
      let candidate = [...head, ...kept];
      let summary: string | null = null;
      if (this.policy.strategy === 'summarise') {
        summary = await this.summaryOf(droppedMsgs);
        candidate = [...head, { role: 'system', content: `Summary of earlier turns: ${summary}` }, ...kept];
      }
      const tokens = this.counter.count(candidate, tools);
      if (tokens <= budget) return { messages: candidate, tokens, dropped: droppedMsgs.length, summary };
    }
    const minimal = [...head, ...(units[units.length - 1] ?? [])];
    throw new ContextOverflowError(
      `the conversation does not fit the ${this.policy.maxTokens}-token window even with only the task and the last turn ` +
        `(${this.counter.count(minimal, tools)} tokens + ${this.policy.reserveTokens ?? 256} reserved); shorten the system prompt or tool results`,
    );
  }

  /** Summaries extend the previous one when more turns are dropped, so each turn is summarised once. */
  private async summaryOf(dropped: ChatMessage[]): Promise<string> {
    if (!this.policy.summarise) throw new Error("context strategy 'summarise' needs a summarise function (see modelSummariser)");
    if (this.summary && this.summary.covers === dropped.length) return this.summary.text;
    const fresh = this.summary && this.summary.covers < dropped.length ? dropped.slice(this.summary.covers) : dropped;
    const text = await this.policy.summarise(fresh, this.summary && this.summary.covers < dropped.length ? this.summary.text : null);
    this.summary = { covers: dropped.length, text };
    return text;
  }
}

/** Leading system messages plus the first user message. */
function headLength(messages: ChatMessage[]): number {
  let i = 0;
  while (i < messages.length && messages[i].role === 'system') i++;
  if (i < messages.length && messages[i].role === 'user') i++;
  return i;
}

/** Messages grouped so an assistant message with tool calls stays with its tool results. */
export function turnUnits(messages: ChatMessage[]): ChatMessage[][] {
  const units: ChatMessage[][] = [];
  for (const m of messages) {
    if (m.role === 'tool' && units.length > 0) units[units.length - 1].push(m);
    else units.push([m]);
  }
  return units;
}

/** A summariser that asks `client` to summarise the dropped turns (extending an earlier summary). */
export function modelSummariser(client: ModelClient, opts: { model?: string; maxTokens?: number } = {}) {
  return async (dropped: ChatMessage[], previous: string | null): Promise<string> => {
    const transcript = dropped
      .map((m) => `${m.role}: ${m.content ?? ''}${m.tool_calls ? ` [calls ${m.tool_calls.map((c) => `${c.function.name}(${c.function.arguments})`).join(', ')}]` : ''}`)
      .join('\n');
    const r = await client.chat({
      model: opts.model,
      temperature: 0,
      max_tokens: opts.maxTokens ?? 200,
      messages: [
        { role: 'system', content: 'Summarise the conversation below in a few sentences. Keep every fact, number and decision needed to continue the task.' },
        { role: 'user', content: previous ? `Earlier summary: ${previous}\n\n${transcript}` : transcript },
      ],
    });
    return (r.message.content ?? '').trim();
  };
}
