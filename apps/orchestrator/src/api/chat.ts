/*
 * The Chat RPC: what /v1/chat/completions does, over gRPC. Messages (with assistant tool calls and
 * tool results) are rendered with the model's chat template, with the tools when it takes them,
 * else the documented default; with tool_choice `required` or a named function the reply is held
 * to valid calls by a grammar; the reply streams as content and tool-call deltas (the tools room's
 * ToolCallStreamer), finish reason TOOL_CALLS when it called tools.
 *
 * The tool fields are checked by the HTTP chat body's own tool schema (http/schemas/tools.ts) and
 * the messages by the same bounds as over HTTP (count, role length, the prompt length before
 * rendering and tokenizing; api/request-rules.ts), so both transports refuse the same requests.
 *
 * What it is not: the HTTP shapes (http/), or generation itself (it runs through Generate).
 */
import { invalidArgument, type CallContext } from '@llm/platform';
import { inference } from '@llm/proto';
import type { ChatMessage } from '@llm/tokenizer';
import { renderChat } from '../http/chat-template';
import { HttpError } from '../http/errors';
import { parseWith } from '../http/schemas/parse';
import { toolFieldsSchema, toolRequestOf } from '../http/schemas/tools';
import { renderChatWithTools, toolFamilyOf, ToolCallStreamer } from '../tools';
import type { ModelFacts } from './model-facts';
import type { RequestLimits } from './params';
import { jsonDepthProblem, listProblem, promptCharsProblem, TEXT_LIMITS, textProblem } from './request-rules';

/** Tokens left after a prompt of `promptLen`: the context window, capped by the worker's KV pool. */
export function restOfContext(facts: ModelFacts, promptLen: number): number {
  const byPool = facts.numBlocks > 0 ? (facts.numBlocks - 1) * facts.blockSize : Infinity;
  return Math.max(1, Math.min(facts.maxContextTokens, byPool) - promptLen);
}

/** An HTTP 400 from the shared schemas as INVALID_ARGUMENT naming the same field. */
function asGrpc(err: unknown): unknown {
  if (!(err instanceof HttpError)) return err;
  const param = err.param ?? 'request';
  return invalidArgument(param, err.message.startsWith(`${param}: `) ? err.message.slice(param.length + 2) : err.message);
}

function parsedTools(req: inference.ChatRequest) {
  return req.tools.map((t, i) => {
    let parameters: unknown;
    if (t.parametersJson) {
      const deep = jsonDepthProblem(t.parametersJson);
      if (deep) throw invalidArgument(`tools[${i}].parameters_json`, deep);
      try {
        parameters = JSON.parse(t.parametersJson);
      } catch (err) {
        throw invalidArgument(`tools[${i}].parameters_json`, `is not valid JSON: ${(err as Error).message}`);
      }
    }
    return { type: 'function', function: { name: t.name, description: t.description || undefined, parameters } };
  });
}

/** The Generate request for a chat, and the tool family when replies are parsed for calls. */
export function chatRequestOf(facts: ModelFacts, req: inference.ChatRequest, limits: RequestLimits) {
  if (req.messages.length === 0) throw invalidArgument('messages', 'must hold at least one message');
  checkMessages(req, limits);
  const messages: ChatMessage[] = req.messages.map((m) => ({
    role: m.role,
    content: m.content,
    ...(m.toolCalls.length > 0 ? { tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) } : {}),
    ...(m.toolCallId ? { tool_call_id: m.toolCallId } : {}),
  }));
  const body = {
    tools: req.tools.length > 0 ? parsedTools(req) : undefined,
    tool_choice: req.toolChoiceFunction ? { type: 'function', function: { name: req.toolChoiceFunction } } : req.toolChoice || undefined,
    parallel_tool_calls: req.parallelToolCalls,
  };
  let tools;
  let chat;
  try {
    tools = toolRequestOf(parseWith(toolFieldsSchema, body), toolFamilyOf(facts.tokenizerConfig, facts.architecture));
    chat = tools ? renderChatWithTools(facts.tokenizerConfig, messages, tools.tools) : renderChat(facts.tokenizerConfig, messages);
  } catch (err) {
    if (err instanceof HttpError) throw asGrpc(err);
    throw invalidArgument('messages', `could not be rendered with the chat template: ${(err as Error).message}`);
  }
  if (tools?.grammar && req.structuredOutput) throw invalidArgument('structured_output', 'cannot be combined with a required / named tool choice');
  const ids = facts.tokenizer.encode(chat.prompt, { addSpecialTokens: false });
  const s = inference.SamplingParams.fromPartial(req.sampling ?? {});
  s.stop = [...s.stop, ...chat.stop];
  s.maxTokens ??= restOfContext(facts, ids.length);
  if (tools) s.skipSpecialTokens ??= false;
  const generate = inference.GenerateRequest.fromPartial({
    model: req.model, promptTokenIds: ids, sampling: s, requestId: req.requestId,
    structuredOutput: tools?.grammar ? { grammar: tools.grammar } : req.structuredOutput,
    trace: req.trace,
  });
  return { generate, family: tools?.family };
}

/** The messages' bounds (the HTTP chat schema's): how many, each role's length, and the text before it is rendered. */
function checkMessages(req: inference.ChatRequest, limits: RequestLimits): void {
  const many = listProblem(req.messages.length, TEXT_LIMITS.chatMessages);
  if (many) throw invalidArgument('messages', many);
  let chars = 0;
  req.messages.forEach((m, i) => {
    const role = textProblem(m.role, TEXT_LIMITS.roleChars);
    if (role) throw invalidArgument(`messages[${i}].role`, role);
    const id = textProblem(m.toolCallId, TEXT_LIMITS.toolCallIdChars);
    if (id) throw invalidArgument(`messages[${i}].tool_call_id`, id);
    chars += m.content.length;
  });
  const tooLong = promptCharsProblem(chars, limits.maxPromptChars ?? Infinity);
  if (tooLong) throw invalidArgument('messages', tooLong);
}

/** Generate's deltas as chat deltas (content, or tool calls in the model family's format). */
export async function* chatStream(deltas: AsyncIterable<inference.GenerateResponse>, family: ReturnType<typeof chatRequestOf>['family'], _ctx?: CallContext): AsyncGenerator<inference.ChatResponse> {
  const streamers = new Map<number, ToolCallStreamer>();
  for await (const d of deltas) {
    let content = d.text;
    let toolCalls: inference.ToolCallDelta[] = [];
    let finishReason = d.finishReason;
    if (family) {
      const s = streamers.get(d.index) ?? new ToolCallStreamer(family);
      streamers.set(d.index, s);
      const piece = s.push(d.text);
      if (d.finishReason) {
        const rest = s.finish();
        piece.content += rest.content;
        piece.toolCalls.push(...rest.toolCalls);
        if (d.finishReason === inference.FinishReason.FINISH_REASON_STOP && s.numCalls > 0) finishReason = inference.FinishReason.FINISH_REASON_TOOL_CALLS;
      }
      content = piece.content;
      toolCalls = piece.toolCalls.map((c) => ({ index: c.index, id: c.id ?? '', name: c.function.name ?? '', arguments: c.function.arguments }));
    }
    yield { index: d.index, content, toolCalls, finishReason, usage: d.usage, requestId: d.requestId, trace: d.trace };
  }
}
