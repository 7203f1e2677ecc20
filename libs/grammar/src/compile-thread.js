/*
 * The CompileGuard's thread (plain CommonJS so it runs unbuilt, in Jest and in dist alike): loads
 * the grammar engine with the vocabulary from workerData, then compiles each EBNF it is sent and
 * answers { id, ms } or { id, error }. The guard terminates it when a compilation runs too long.
 * Loading follows xgrammar-binding.ts (the bundle compiled as CommonJS, its error printer routed).
 */
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname } = require('node:path');

let lastError = '';
function load() {
  const file = require.resolve('@mlc-ai/web-xgrammar/lib/index.js', { paths: [workerData.resolveFrom] });
  let src = readFileSync(file, 'utf8');
  src = src.replace('var err=Module["printErr"]||console.error.bind(console);', 'var err=function(t){module.__llmGrammarEngineErr(t)};');
  const m = new Module(file);
  m.__llmGrammarEngineErr = (t) => {
    const line = String(t);
    if (lastError === '' || !line.startsWith('Aborted')) lastError = line.replace(/^\[FATAL\][^:]*:\d+: /, '');
  };
  m.filename = file;
  m.paths = Module._nodeModulePaths(dirname(file));
  m._compile(src, file);
  return m.exports;
}

const ready = (async () => {
  const xg = load();
  const info = await xg.TokenizerInfo.createTokenizerInfo(workerData.vocab, 'byte_level', false, workerData.vocab.length, workerData.eos);
  return xg.GrammarCompiler.createGrammarCompiler(info, false);
})();

parentPort.on('message', async ({ id, ebnf }) => {
  try {
    const compiler = await ready;
    lastError = '';
    const t0 = performance.now();
    const g = await compiler.compileGrammar(ebnf, 'root');
    const ms = performance.now() - t0;
    g.dispose();
    parentPort.postMessage({ id, ms });
  } catch (err) {
    parentPort.postMessage({ id, error: lastError || (err && err.message) || String(err) });
  }
});
