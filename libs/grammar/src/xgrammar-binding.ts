/*
 * Loads the grammar engine: xgrammar's WebAssembly build (`@mlc-ai/web-xgrammar`), the engine
 * vLLM and SGLang use. Its package says `type: module` but ships a UMD bundle, so neither
 * `require` nor `import` loads it in Node 20; this reads the bundle and compiles it as the
 * CommonJS module it is (in Jest and in the built CLI alike). One change is made to the text: the
 * engine's error printer is routed here, so a grammar's parse error becomes this library's
 * message instead of a line on stderr.
 *
 * What it is not: the engine's API surface; engine.ts wraps the few calls the platform makes.
 */
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname } from 'node:path';

/** The subset of the bundle's exports used here (see engine.ts). */
export interface XgrammarBinding {
  TokenizerInfo: { createTokenizerInfo(vocab: string[], vocabType: string, prependSpace: boolean, vocabSize: number, stopTokenIds: number[]): Promise<XgHandle & { getVocabSize(): number }> };
  GrammarCompiler: { createGrammarCompiler(info: XgHandle, cacheEnabled: boolean): Promise<XgCompiler> };
  GrammarMatcher: { createGrammarMatcher(compiled: XgHandle, overrideStopTokens?: number[], terminateWithoutStopToken?: boolean, maxRollbackTokens?: number): Promise<XgMatcher> };
}
export interface XgHandle {
  dispose(): void;
}
export interface XgCompiler extends XgHandle {
  compileGrammar(ebnf: string, rootRule?: string): Promise<XgHandle>;
}
export interface XgMatcher extends XgHandle {
  acceptToken(id: number): boolean;
  getNextTokenBitmask(): Promise<Int32Array>;
  isTerminated(): boolean;
}

const ERR_HOOK = '__llmGrammarEngineErr';
let binding: XgrammarBinding | undefined;
let lastError = '';

/** The last message the engine printed (its parse errors), cleared on read. */
export function takeEngineError(): string {
  const e = lastError;
  lastError = '';
  return e;
}

export function loadXgrammar(): XgrammarBinding {
  if (binding) return binding;
  const file = require.resolve('@mlc-ai/web-xgrammar/lib/index.js');
  let src = readFileSync(file, 'utf8');
  const printer = 'var err=Module["printErr"]||console.error.bind(console);';
  // `module` inside the bundle is `m` below: the hook travels on it (Jest runs this file in another realm).
  if (src.includes(printer)) src = src.replace(printer, `var err=function(t){var h=module.${ERR_HOOK};h?h(t):console.error(t)};`);
  const m = new Module(file) as Module & { _compile(code: string, filename: string): void } & Record<string, unknown>;
  m[ERR_HOOK] = (t: string) => {
    const line = String(t);
    if (lastError === '' || !line.startsWith('Aborted')) lastError = line.replace(/^\[FATAL\][^:]*:\d+: /, '');
  };
  m.filename = file;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(file));
  m._compile(src, file);
  binding = m.exports as XgrammarBinding;
  return binding;
}
