/*
 * Chat with tools over a plain completions endpoint: the conversation (and `tools`) is rendered
 * on this side with the model's own Jinja chat template from tokenizer_config.json, sent as a
 * raw prompt to /v1/completions (or the gRPC Complete RPC), and the generated text is parsed for
 * Hermes <tool_call> blocks into OpenAI tool calls.
 *
 * This is how the harness drives a model through any endpoint that can complete text, including
 * the gRPC Inference API, which has no chat RPC. It renders exactly what a server that applies
 * the same template would render, so results match the server-side tool-calling path.
 * What it is not: constrained decoding; arguments are validated afterwards by the tool layer.
 * Reference: transformers apply_chat_template(messages, tools=...); hermes.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyChatTemplate, loadTokenizerConfig, type ChatMessage as TplMessage, type TokenizerConfig } from '@llm/tokenizer';
import { parseHermesToolCalls } from './hermes';
import { DelegatingClient } from './delegating';
import type { CallOptions, ChatMessage, ChatRequest, ChatResult, ModelClient } from './types';

export interface TemplateChatOptions {
  /** Extra stop strings (e.g. the end-of-turn marker when the server does not stop on it). */
  stop?: string[];
}

export class TemplateChatClient extends DelegatingClient {
  private calls = 0;

  constructor(
    inner: ModelClient,
    private readonly config: TokenizerConfig,
    private readonly opts: TemplateChatOptions = {},
  ) {
    super(inner, `${inner.endpoint} [chat template]`);
    if (!config.chatTemplate) throw new Error('the tokenizer config has no chat_template (template chat needs the model\'s template)');
  }

  /** Reads DIR/tokenizer_config.json (the model directory the endpoint serves). */
  static fromModelDir(inner: ModelClient, dir: string, opts?: TemplateChatOptions): TemplateChatClient {
    const file = join(dir, 'tokenizer_config.json');
    if (!existsSync(file)) throw new Error(`${dir} has no tokenizer_config.json (template chat needs the model's chat_template)`);
    return new TemplateChatClient(inner, loadTokenizerConfig(readFileSync(file, 'utf8')), opts);
  }

  /** The prompt text the template renders for a request (for tests and traces). */
  render(req: ChatRequest): string {
    const messages = req.messages.map((m) => ({ ...m, content: m.content ?? '' }));
    const tools = req.tool_choice === 'none' ? undefined : req.tools;
    return applyChatTemplate(this.config, messages as unknown as TplMessage[], { addGenerationPrompt: true, extra: tools ? { tools } : {} });
  }

  async chat(req: ChatRequest, opts?: CallOptions): Promise<ChatResult> {
    const prompt = this.render(req);
    const r = await this.inner.complete(
      { model: req.model, prompt, max_tokens: req.max_tokens, temperature: req.temperature, top_p: req.top_p, seed: req.seed, stop: [...(req.stop ?? []), ...(this.opts.stop ?? [])] },
      opts,
    );
    const choice = r.choices[0];
    const text = choice?.text ?? '';
    const useTools = (req.tools?.length ?? 0) > 0 && req.tool_choice !== 'none';
    const parsed = useTools ? parseHermesToolCalls(text, `call_${(this.calls++).toString(36)}`) : { content: text, toolCalls: [] };
    const message: ChatMessage = { role: 'assistant', content: parsed.toolCalls.length > 0 && parsed.content === '' ? null : parsed.content };
    if (parsed.toolCalls.length > 0) message.tool_calls = parsed.toolCalls;
    const finish = parsed.toolCalls.length > 0 ? 'tool_calls' : (choice?.finish_reason ?? 'stop');
    return { message, finish_reason: finish, usage: r.usage, latency_ms: r.latency_ms };
  }
}
