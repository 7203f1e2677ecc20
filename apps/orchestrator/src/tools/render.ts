/*
 * Chat prompts with tools. When the model's own chat template takes `tools` (Qwen2/3, Llama 3.1,
 * Mistral templates do), it is rendered with them, as transformers passes them. Otherwise the
 * documented default below: ChatML with the tools listed in a system turn in Hermes style,
 * assistant tool calls written back as <tool_call> blocks and tool results as <tool_response>
 * user turns; `<|im_end|>` is also a stop string, as with the plain default template.
 *
 * What it is not: parsing the reply (parsers.ts).
 */
import { applyChatTemplate, type ChatMessage, type TokenizerConfig } from '@llm/tokenizer';
import { DEFAULT_CHAT_STOP } from '../http/chat-template';
import type { Tool } from './schemas';

export const DEFAULT_TOOL_TEMPLATE = `{%- if tools %}<|im_start|>system
{% if messages[0].role == 'system' %}{{ messages[0].content }}

{% endif %}# Tools

You may call one or more functions. Their signatures are inside <tools></tools>:
<tools>
{% for tool in tools %}{{ tool | tojson }}
{% endfor %}</tools>

To call a function, answer with a JSON object inside <tool_call></tool_call> tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call><|im_end|>
{% elif messages[0].role == 'system' %}<|im_start|>system
{{ messages[0].content }}<|im_end|>
{% endif %}
{%- for m in messages %}{% if not (loop.first and m.role == 'system') %}
{%- if m.role == 'tool' %}<|im_start|>user
<tool_response>
{{ m.content }}
</tool_response><|im_end|>
{% elif m.role == 'assistant' and m.tool_calls %}<|im_start|>assistant
{{ m.content }}{% for c in m.tool_calls %}<tool_call>
{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments }}}
</tool_call>{% endfor %}<|im_end|>
{% else %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endif %}{% endif %}{% endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}`;

/** Whether a template reads `tools` (then the model's own format is used). */
export function templateTakesTools(config: TokenizerConfig | null): boolean {
  return /\btools\b/.test(config?.chatTemplate ?? '');
}

export function renderChatWithTools(config: TokenizerConfig | null, messages: ChatMessage[], tools: Tool[]): { prompt: string; stop: string[] } {
  const own = templateTakesTools(config) ? (config as TokenizerConfig) : undefined;
  const cfg: TokenizerConfig = own ?? {
    bosToken: config?.bosToken ?? null, eosToken: config?.eosToken ?? null, unkToken: null, padToken: null, chatTemplate: DEFAULT_TOOL_TEMPLATE, namedTemplates: {},
  };
  const prompt = applyChatTemplate(cfg, messages, { addGenerationPrompt: true, extra: { tools } });
  return { prompt, stop: own ? [] : [DEFAULT_CHAT_STOP] };
}
