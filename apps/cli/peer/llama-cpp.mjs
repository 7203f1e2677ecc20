#!/usr/bin/env node
/*
 * llama.cpp as a peer: runs one request against a GGUF file with llama.cpp's own CPU build (the
 * prebuilt binaries of the node-llama-cpp package) and prints one JSON object on stdout. Used by
 * `llm bench --llama-cpp` (the same-run baseline) and by the peer tests, always in a child process
 * of its own, so llama.cpp's threads and memory never share a process with ours.
 *
 * node-llama-cpp is not a dependency of this repository (its optional GPU builds are ~700 MB). It is
 * found in the folder named by LLM_LLAMA_CPP (a prefix: LLM_LLAMA_CPP/node_modules/node-llama-cpp),
 * else wherever Node resolves it from here. Install it once with
 *   npm install --prefix ~/.cache/llm-llama-cpp --omit=optional --no-save node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1
 * (`--omit=optional` skips the GPU builds; the second package is the CPU build for x64 Linux).
 *
 * Usage: node llama-cpp.mjs '<request JSON>'. Requests ({"op": ...}):
 *   probe                              {version, cpu}: is llama.cpp loadable here
 *   logits   {file, tokens, kv?}       {logits: number[][]}: every position's raw logits, tokens fed
 *                                      as given (no BOS added); kv = "F32" (default) or "F16" cache
 *   tokenize {file, texts}             {ids: number[][]}: llama.cpp's tokenizer from the file's
 *                                      vocabulary, no BOS/EOS added, special tokens parsed
 *   vocab    {file}                    {size, bos, eos, eot, addBos, model, chatTemplate}: what
 *                                      llama.cpp's loader made of the file's vocabulary (size: its
 *                                      token count; bos/eos/eot null when absent or, node-llama-cpp's
 *                                      rule, not a control token; addBos: whether a prompt gets BOS)
 *   bench    {file, prefill: number[], decode: number[], rounds, threads, steps?, context?,
 *            flashAttention?}
 *                                      {prefill: [{tokens, tokPerS}], decode: [{batch, tokPerS}]}:
 *                                      the best of `rounds` per row (see bench() below)
 * Exit status 0 with the JSON; 2 with one line on stderr when node-llama-cpp is missing or the
 * request is malformed; 1 when llama.cpp refuses the file (its message on stderr).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const INSTALL = 'npm install --prefix ~/.cache/llm-llama-cpp --omit=optional --no-save node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1, then set LLM_LLAMA_CPP=~/.cache/llm-llama-cpp';

function fail(code, line) {
  process.stderr.write(`${line}\n`);
  process.exit(code);
}

async function loadPeer() {
  const prefix = process.env.LLM_LLAMA_CPP;
  const from = prefix ? join(prefix, 'node_modules', 'noop.js') : import.meta.url;
  let entry;
  try {
    entry = createRequire(from).resolve('node-llama-cpp');
  } catch {
    fail(2, `llama.cpp peer: node-llama-cpp is not installed${prefix ? ` under LLM_LLAMA_CPP=${prefix}` : ''}; ${INSTALL}`);
  }
  const mod = await import(pathToFileURL(entry).href);
  const llama = await mod.getLlama({ gpu: false, build: 'never', logLevel: process.env.LLM_LLAMA_CPP_LOG ?? 'error', progressLogs: false });
  return { mod, llama };
}

async function logits(llama, req) {
  if (!Array.isArray(req.tokens) || req.tokens.length === 0) fail(2, 'llama.cpp peer: logits needs a non-empty "tokens" array');
  const model = await llama.loadModel({ modelPath: req.file });
  const kv = req.kv ?? 'F32';
  const ctx = await model.createContext({
    contextSize: Math.max(64, req.tokens.length + 8), batchSize: Math.max(32, req.tokens.length), threads: req.threads ?? 2,
    flashAttention: false, experimentalKvCacheKeyType: kv, experimentalKvCacheValueType: kv,
  });
  const seq = ctx.getSequence();
  const res = await seq.controlledEvaluate(req.tokens.map((t) => [t, { generateNext: { logits: true } }]));
  const vocab = model.tokens?.vocabularySize ?? undefined;
  const rows = res.map((r) => {
    const m = r?.next?.logits;
    if (!m) fail(1, 'llama.cpp peer: no logits came back');
    const row = new Array(vocab ?? m.size).fill(null);
    for (const [k, v] of m) row[k] = v;
    return row;
  });
  return { logits: rows };
}

async function tokenize(llama, req) {
  if (!Array.isArray(req.texts)) fail(2, 'llama.cpp peer: tokenize needs a "texts" array');
  const model = await llama.loadModel({ modelPath: req.file, vocabOnly: true });
  return { ids: req.texts.map((t) => Array.from(model.tokenize(t, true))) };
}

async function vocab(llama, req) {
  const model = await llama.loadModel({ modelPath: req.file, vocabOnly: true });
  const t = model.tokens;
  const meta = model.fileInfo?.metadata?.tokenizer ?? {};
  return {
    size: [...model.iterateAllTokens()].length, bos: t.bos ?? null, eos: t.eos ?? null, eot: t.eot ?? null,
    addBos: t.shouldPrependBosToken, model: meta.ggml?.model ?? null, chatTemplate: meta.chat_template ?? null,
  };
}

/**
 * Prefill: one sequence fed `tokens` prompt tokens in one evaluation (batch size = tokens), timed
 * from the call to its return. Decode at batch B: B sequences of one context, each primed with a
 * `context`-token prompt (default 16), then `steps` greedy tokens each (default 64), generated
 * concurrently (llama.cpp decodes the B sequences' next tokens in one batch; an end-of-generation
 * token does not stop a sequence);
 * tok/s = the B x steps tokens after each sequence's first / the span from the first sequence's
 * first token to the last token. Prompts are token ids spread over the vocabulary.
 */
async function bench(llama, req) {
  const rounds = req.rounds ?? 3;
  const threads = req.threads ?? 2;
  const steps = req.steps ?? 64;
  const context = req.context ?? 16;
  const model = await llama.loadModel({ modelPath: req.file });
  const V = model.tokens?.vocabularySize ?? 256;
  const ids = (n, seed) => Array.from({ length: n }, (_, i) => 1 + ((i * 7919 + seed * 104729) % (V - 2)));
  const out = { prefill: [], decode: [] };
  for (const n of req.prefill ?? []) {
    const ctx = await model.createContext({ contextSize: n + 16, batchSize: n, threads, flashAttention: !!req.flashAttention });
    const seq = ctx.getSequence();
    let best = 0;
    for (let r = 0; r < rounds; r++) {
      await seq.clearHistory();
      const t0 = performance.now();
      await seq.evaluateWithoutGeneratingNewTokens(ids(n, r));
      best = Math.max(best, n / ((performance.now() - t0) / 1000));
    }
    out.prefill.push({ tokens: n, tokPerS: best });
    await ctx.dispose();
  }
  for (const b of req.decode ?? []) {
    const ctx = await model.createContext({ contextSize: b * (context + steps + 8), sequences: b, batchSize: Math.min(2048, Math.max(context * b, 32)), threads, flashAttention: !!req.flashAttention });
    const seqs = Array.from({ length: b }, () => ctx.getSequence());
    let best = 0;
    for (let r = 0; r < rounds; r++) {
      await Promise.all(seqs.map((s) => s.clearHistory()));
      let first = Infinity;
      let last = 0;
      let tokens = 0;
      await Promise.all(seqs.map(async (s, i) => {
        let n = 0;
        for await (const _tok of s.evaluate(ids(context, r * 64 + i), { yieldEogToken: true })) {
          const now = performance.now();
          if (n === 0) first = Math.min(first, now);
          else tokens++;
          last = Math.max(last, now);
          if (++n > steps) break;
        }
      }));
      if (tokens < b * steps) fail(1, `llama.cpp peer: decode at batch ${b} generated ${tokens} of ${b * steps} tokens`);
      best = Math.max(best, tokens / ((last - first) / 1000));
    }
    out.decode.push({ batch: b, tokPerS: best });
    await ctx.dispose();
  }
  return out;
}

async function main() {
  let req;
  try {
    req = JSON.parse(process.argv[2] ?? '');
  } catch {
    fail(2, `llama.cpp peer: pass one JSON request, e.g. '{"op":"probe"}' (got ${JSON.stringify(process.argv[2] ?? '')})`);
  }
  const { mod, llama } = await loadPeer();
  if (req.op !== 'probe' && typeof req.file !== 'string') fail(2, `llama.cpp peer: "${req.op}" needs a "file" (a .gguf path)`);
  let res;
  try {
    if (req.op === 'probe') res = { version: mod.getModuleVersion ? await mod.getModuleVersion() : null, cpu: llama.cpuMathCores ?? null, build: llama.buildType };
    else if (req.op === 'logits') res = await logits(llama, req);
    else if (req.op === 'tokenize') res = await tokenize(llama, req);
    else if (req.op === 'vocab') res = await vocab(llama, req);
    else if (req.op === 'bench') res = await bench(llama, req);
    else fail(2, `llama.cpp peer: unknown op "${req.op}" (probe | logits | tokenize | vocab | bench)`);
  } catch (e) {
    fail(1, `llama.cpp peer: ${e?.message ?? e}`);
  }
  process.stdout.write(`${JSON.stringify(res)}\n`);
  process.exit(0);
}

main();
