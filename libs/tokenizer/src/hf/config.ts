/*
 * tokenizer_config.json: the special-token names (bos/eos/unk/pad) and the Jinja
 * `chat_template`, rendered with @huggingface/jinja.
 *
 * What it is: a checked reader of the fields the platform uses, and chat rendering with
 * the variables transformers passes to templates (messages, add_generation_prompt,
 * bos_token, eos_token, unk_token, pad_token, plus caller extras such as tools).
 * What it is not: the Python tokenizer class settings (padding side, model_max_length).
 * Reference: transformers PreTrainedTokenizerBase.apply_chat_template; @huggingface/jinja.
 */
import { Template } from '@huggingface/jinja';
import { TokenizerJsonError, type Json } from './fields';

export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

export interface TokenizerConfig {
  bosToken: string | null;
  eosToken: string | null;
  unkToken: string | null;
  padToken: string | null;
  /** The default chat template, or null when the file has none. */
  chatTemplate: string | null;
  /** Named templates when the file lists several (e.g. "tool_use"). */
  namedTemplates: Record<string, string>;
}

/** Reads tokenizer_config.json (parsed object or JSON text). */
export function loadTokenizerConfig(json: object | string): TokenizerConfig {
  let o: Record<string, Json>;
  try {
    o = (typeof json === 'string' ? JSON.parse(json) : json) as Record<string, Json>;
  } catch (err) {
    throw new Error(`tokenizer_config.json is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('tokenizer_config.json must be a JSON object');
  const named: Record<string, string> = {};
  let chatTemplate: string | null = null;
  const ct = o.chat_template;
  if (typeof ct === 'string') chatTemplate = ct;
  else if (Array.isArray(ct)) {
    ct.forEach((entry, i) => {
      const e = entry as Record<string, Json>;
      if (typeof e?.name !== 'string' || typeof e?.template !== 'string') {
        throw new Error(`tokenizer_config.json: chat_template[${i}] must be {"name": string, "template": string}`);
      }
      named[e.name] = e.template;
    });
    chatTemplate = named.default ?? null;
  } else if (ct !== undefined && ct !== null) {
    throw new Error('tokenizer_config.json: chat_template must be a string or a list of {name, template}');
  }
  return {
    bosToken: tokenName(o, 'bos_token'),
    eosToken: tokenName(o, 'eos_token'),
    unkToken: tokenName(o, 'unk_token'),
    padToken: tokenName(o, 'pad_token'),
    chatTemplate,
    namedTemplates: named,
  };
}

/** A special token field: a string, an AddedToken object {content}, or null. */
function tokenName(o: Record<string, Json>, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && !Array.isArray(v) && typeof v.content === 'string') return v.content;
  throw new TokenizerJsonError(`tokenizer_config.json ${key}`, 'a string, {"content": string} or null', v);
}

/**
 * The documented default for models without a chat_template: ChatML,
 *   <|im_start|>{role}\n{content}<|im_end|>\n   per message, then <|im_start|>assistant\n
 * when a generation prompt is asked for.
 */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface ChatTemplateOptions {
  addGenerationPrompt?: boolean;
  /** Use a named template instead of the default one. */
  templateName?: string;
  /** Extra template variables (tools, documents, custom flags). */
  extra?: Record<string, unknown>;
}

/** Renders the chat template for `messages` exactly as transformers does (same variables). */
export function applyChatTemplate(config: TokenizerConfig, messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
  const source = opts.templateName ? config.namedTemplates[opts.templateName] : config.chatTemplate;
  if (!source) {
    throw new Error(
      opts.templateName
        ? `tokenizer_config.json has no chat template named ${JSON.stringify(opts.templateName)}`
        : 'tokenizer_config.json has no chat_template (pass a config that defines one)',
    );
  }
  messages.forEach((m, i) => {
    if (typeof m?.role !== 'string' || typeof m?.content !== 'string') {
      throw new Error(`messages[${i}] must have string "role" and "content"`);
    }
  });
  return new Template(source).render({
    messages,
    add_generation_prompt: opts.addGenerationPrompt ?? false,
    bos_token: config.bosToken ?? '',
    eos_token: config.eosToken ?? '',
    unk_token: config.unkToken ?? '',
    pad_token: config.padToken ?? '',
    ...opts.extra,
  });
}
