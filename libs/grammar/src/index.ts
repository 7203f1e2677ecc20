/*
 * @llm/grammar: constrained decoding. A GrammarSpec (JSON Schema, any JSON, regex, choice, EBNF)
 * becomes EBNF (spec.ts and its generators); GrammarEngine compiles EBNF over a model's byte-level
 * vocabulary into an automaton with per-state token masks (cached) and gives each sequence a
 * TokenMatcher; CompileGuard compiles on a thread with a time limit for admission checks.
 */
export { GrammarError } from './errors';
export { grammarToEbnf, MAX_GRAMMAR_SOURCE_CHARS, type GrammarSpec } from './spec';
export { jsonSchemaToEbnf, JsonSchemaCompiler, jsonText } from './json-schema';
export { regexToEbnf, parseRegex } from './regex';
export { integerRange, numberRange } from './numeric-range';
export { literal, charClass, RuleSet } from './ebnf-text';
export { vocabularyOf, byteLevelSpelling, type TokenVocabulary } from './vocabulary';
export { GrammarEngine, TokenMatcher, maskAllows, applyTokenMask, type CompiledGrammar } from './engine';
export { CompileGuard, type CompileCheck } from './compile-guard';
