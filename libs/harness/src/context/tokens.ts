/*
 * Counting a conversation's tokens with the model's own tokenizer: the messages (and tools) are
 * rendered with the model's chat template, exactly as the server renders them, and the text is
 * encoded with its tokenizer.json; so "fits the window" means what the server will see.
 * Models without a chat template are counted with the tokenizer library's ChatML default (what
 * this platform falls back to).
 *
 * What it is not: an estimate from characters; and not a remote call per count.
 * Reference: transformers apply_chat_template(tokenize=True).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyChatTemplate, CHATML_TEMPLATE, loadTokenizerConfig, loadTokenizerJson, type Tokenizer, type TokenizerConfig } from '@llm/tokenizer';
import type { ChatMessage, ToolSpec } from '../client/types';

export interface TokenCounter {
  /** Tokens of the prompt these messages (and tools) render to, generation prompt included. */
  count(messages: ChatMessage[], tools?: ToolSpec[]): number;
  /** Tokens of plain text. */
  countText(text: string): number;
}

export function templateCounter(tokenizer: Tokenizer, config: TokenizerConfig | null): TokenCounter {
  const cfg: TokenizerConfig = config?.chatTemplate
    ? config
    : { bosToken: null, eosToken: null, unkToken: null, padToken: null, chatTemplate: CHATML_TEMPLATE, namedTemplates: {} };
  return {
    count: (messages, tools) => {
      const msgs = messages.map((m) => ({ ...m, content: m.content ?? '' }));
      const text = applyChatTemplate(cfg, msgs, { addGenerationPrompt: true, extra: tools?.length ? { tools } : {} });
      return tokenizer.encode(text, { addSpecialTokens: false }).length;
    },
    countText: (text) => tokenizer.encode(text, { addSpecialTokens: false }).length,
  };
}

/** The counter of a Hugging Face model directory (tokenizer.json, optional tokenizer_config.json). */
export function modelTokenCounter(dir: string): TokenCounter {
  const tok = join(dir, 'tokenizer.json');
  if (!existsSync(tok)) throw new Error(`${dir} has no tokenizer.json (context management counts tokens with the model's own tokenizer)`);
  const cfgFile = join(dir, 'tokenizer_config.json');
  const config = existsSync(cfgFile) ? loadTokenizerConfig(readFileSync(cfgFile, 'utf8')) : null;
  return templateCounter(loadTokenizerJson(readFileSync(tok, 'utf8'), tok), config);
}
