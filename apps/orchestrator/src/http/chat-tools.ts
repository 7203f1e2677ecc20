/*
 * Tool calls in chat responses: the whole reply's message (content and tool_calls, finish reason
 * `tool_calls`) and the streamed chunks (content deltas, then tool_calls deltas), both from the
 * same text, so the OpenAI SDK's stream helpers reassemble exactly the non-streamed message.
 * What it is not: detection or parsing rules (apps/orchestrator/src/tools).
 */
import type { inference } from '@llm/proto';
import { newToolCallId, parseToolCalls, type StreamPiece, type ToolFamily } from '../tools';
import { chatLogprobs, finishName, type Envelope } from './openai-format';

/** The message and finish reason of a finished reply. */
export function toolMessage(family: ToolFamily, text: string, finish: string | null) {
  const { content, calls } = parseToolCalls(family, text);
  if (calls.length === 0) return { message: { role: 'assistant', content: text }, finish_reason: finish };
  return {
    message: {
      role: 'assistant',
      content: content || null,
      tool_calls: calls.map((c) => ({ id: newToolCallId(), type: 'function', function: { name: c.name, arguments: c.arguments } })),
    },
    finish_reason: finish === 'stop' ? 'tool_calls' : finish,
  };
}

/** One streamed chunk of a tool-enabled chat. */
export function toolChunk(env: Envelope, d: inference.GenerateResponse, piece: StreamPiece, first: boolean, numCalls: number, wantLogprobs: boolean) {
  const delta: Record<string, unknown> = first ? { role: 'assistant' } : {};
  if (piece.content || first) delta.content = piece.content;
  if (piece.toolCalls.length > 0) delta.tool_calls = piece.toolCalls;
  const finish = finishName(d.finishReason);
  return {
    ...env,
    object: 'chat.completion.chunk',
    choices: [{ index: d.index, delta, logprobs: wantLogprobs ? chatLogprobs(d.logprobs) : null, finish_reason: finish === 'stop' && numCalls > 0 ? 'tool_calls' : finish }],
  };
}
