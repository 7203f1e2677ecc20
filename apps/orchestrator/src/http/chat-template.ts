/*
 * Chat prompts for /v1/chat/completions: the model's Jinja `chat_template` from
 * tokenizer_config.json when it has one (rendered by @llm/tokenizer exactly as transformers
 * does), else the documented default below, ChatML:
 *
 *   <|im_start|>{role}\n{content}<|im_end|>\n   ... per message, then, for the reply:
 *   <|im_start|>assistant\n
 *
 * With the default template `<|im_end|>` is also a stop string, so replies end at the turn's end
 * even on models whose vocabulary lacks it as a special token.
 * What it is not: tool calling or multimodal content (content must be a string or text parts).
 */
import { applyChatTemplate, CHATML_TEMPLATE, type ChatMessage, type TokenizerConfig } from '@llm/tokenizer';

/** The tokenizer library's ChatML template (the tokenizer service's ApplyChatTemplate default too). */
export const DEFAULT_CHAT_TEMPLATE = CHATML_TEMPLATE;

export const DEFAULT_CHAT_STOP = '<|im_end|>';

export interface ChatPrompt {
  prompt: string;
  /** Extra stop strings the template implies. */
  stop: string[];
}

export function renderChat(config: TokenizerConfig | null, messages: ChatMessage[]): ChatPrompt {
  if (config?.chatTemplate) return { prompt: applyChatTemplate(config, messages, { addGenerationPrompt: true }), stop: [] };
  const fallback: TokenizerConfig = {
    bosToken: config?.bosToken ?? null,
    eosToken: config?.eosToken ?? null,
    unkToken: null,
    padToken: null,
    chatTemplate: DEFAULT_CHAT_TEMPLATE,
    namedTemplates: {},
  };
  return { prompt: applyChatTemplate(fallback, messages, { addGenerationPrompt: true }), stop: [DEFAULT_CHAT_STOP] };
}
