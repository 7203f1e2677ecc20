/*
 * The grammar engine for a loaded model: its tokenizer.json's vocabulary (token bytes, special
 * tokens) and its EOS ids, handed to @llm/grammar. A model directory without tokenizer.json gets
 * no engine (its worker then refuses grammars with FAILED_PRECONDITION).
 *
 * What it is not: the engine (libs/grammar) or where masks are applied (model-runner.ts).
 */
import { readFileSync } from 'node:fs';
import { GrammarEngine, vocabularyOf } from '@llm/grammar';
import { loadTokenizerJson } from '@llm/tokenizer';
import type { LoadedModel } from '../io';

export async function grammarEngineForModel(model: Pick<LoadedModel, 'config' | 'generation' | 'tokenizerPath'>): Promise<GrammarEngine | undefined> {
  if (!model.tokenizerPath) return undefined;
  const tokenizer = loadTokenizerJson(readFileSync(model.tokenizerPath, 'utf8'), model.tokenizerPath);
  const eos = [...new Set([...model.config.eosTokenIds, ...model.generation.eosTokenIds])];
  return GrammarEngine.create(vocabularyOf(tokenizer, model.config.vocabSize, eos));
}
