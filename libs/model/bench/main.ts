/**
 * Model benchmark (`nx run model:bench`) for a SmolLM-135M-shaped random model (hidden 576,
 * 30 layers, 9 heads, 3 kv heads, intermediate 1536, vocab 49152, tied embeddings):
 *   - prefill tokens/s at 128 and 512 tokens and decode tokens/s at batch 1, with the reference
 *     Transformer's linear layers on ONNX Runtime (OrtMatMul, 2 threads) and, as the baseline
 *     measured in the same run, on the plain TypeScript matmul (a shorter prefill: it is slow);
 *   - flash vs naive attention time and peak memory at T = 512, 2048, 4096, each in its own
 *     process (./attention-child) so peak RSS is attributable.
 * Prefill computes the last position's logits only, as serving does. Attention stays in
 * TypeScript in every variant (the whole-graph ORT path is libs/model/src/onnx's bench).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { OrtMatMul } from '@llm/tensor';
import { MatmulTransBFn, Transformer, makeConfig, randomWeights } from '../src';

const SMOLLM = {
  vocab_size: 49152, hidden_size: 576, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3,
  intermediate_size: 1536, max_position_embeddings: 8192, tie_word_embeddings: true, rope_theta: 10000,
};

const log = (msg: string): void => void process.stderr.write(`[model bench] ${msg}\n`);
const now = (): number => Number(process.hrtime.bigint()) / 1e9;

function promptOf(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7919 + 13) % SMOLLM.vocab_size);
}

interface Rates {
  prefill: Map<number, number>; // T -> tokens/s
  decode: number; // tokens/s at batch 1
}

/** Prefill each length on a fresh cache; decode `decodeSteps` tokens after the first prefill. */
async function measure(model: Transformer, label: string, prefills: number[], decodeSteps: number): Promise<Rates> {
  const prefill = new Map<number, number>();
  let decode = NaN;
  for (const [i, T] of prefills.entries()) {
    const cache = model.newCache();
    log(`${label}: prefill ${T} tokens`);
    const t0 = now();
    await model.forward(promptOf(T), cache, { lastOnly: true });
    prefill.set(T, T / (now() - t0));
    if (i === 0) {
      log(`${label}: decode ${decodeSteps} tokens`);
      const t1 = now();
      for (let s = 0; s < decodeSteps; s++) await model.forward([(s * 31) % SMOLLM.vocab_size], cache, { lastOnly: true });
      decode = decodeSteps / (now() - t1);
    }
  }
  return { prefill, decode };
}

function attentionRun(kind: 'naive' | 'flash', T: number): { ms: number; cpuMs: number; peakExtraMiB: number } {
  log(`attention ${kind} T=${T}`);
  const out = execFileSync(process.execPath, [join(__dirname, 'attention-child.js'), kind, String(T)], { encoding: 'utf8' });
  return JSON.parse(out);
}

async function modelRates(): Promise<void> {
  const t0 = now();
  const config = makeConfig('llama', SMOLLM);
  const weights = randomWeights(config, 0);
  log(`random weights in ${(now() - t0).toFixed(1)} s`);

  const js = await measure(new Transformer(config, weights), 'ts matmul', [32], 4);
  const ort = await OrtMatMul.create({ threads: 2, transB: true });
  const mm: MatmulTransBFn = (a, b, M, K, N) => ort.run(a.length === M * K ? a : a.subarray(0, M * K), b, M, K, N);
  const ortModel = new Transformer(config, weights, { matmulTransB: mm });
  await ortModel.forward(promptOf(8), undefined, { lastOnly: true }); // warm-up
  const fast = await measure(ortModel, 'ort matmul', [128, 512, 32], 16);
  await ort.dispose();

  const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');
  const row = (name: string, a: number, b: number): string =>
    `${name.padEnd(26)}${fmt(a).padStart(15)}   ${fmt(b).padStart(16)}   ${(Number.isFinite(a) ? fmt(b / a) : '-').padStart(12)}`;
  console.log('\nSmolLM-135M-shaped random model (L=30 C=576 NH=9 NKV=3 I=1536 V=49152), reference Transformer, 2 threads for ORT');
  console.log('measure                    ts-matmul tok/s   ort-matmul tok/s   ratio ort/ts');
  console.log(row('prefill 32 tokens', js.prefill.get(32)!, fast.prefill.get(32)!));
  console.log(row('prefill 128 tokens', NaN, fast.prefill.get(128)!));
  console.log(row('prefill 512 tokens', NaN, fast.prefill.get(512)!));
  console.log(row('decode (batch 1)', js.decode, fast.decode));
}

function attentionTable(): void {
  console.log('\nattention NH=9 NKV=3 HS=64, causal, T queries over T keys (TypeScript kernels, one process each)');
  console.log('T       naive ms (cpu)    flash ms (cpu)   flash/naive cpu   naive peak MiB   flash peak MiB');
  for (const T of [512, 2048, 4096]) {
    const n = attentionRun('naive', T), f = attentionRun('flash', T);
    const pair = (r: { ms: number; cpuMs: number }): string => `${r.ms.toFixed(0)} (${r.cpuMs.toFixed(0)})`.padStart(16);
    console.log(`${String(T).padEnd(6)}${pair(n)}  ${pair(f)} ${(f.cpuMs / n.cpuMs).toFixed(2).padStart(17)} ${n.peakExtraMiB.toFixed(1).padStart(16)} ${f.peakExtraMiB.toFixed(1).padStart(16)}`);
  }
  console.log('(peak MiB: growth of peak RSS during the call; naive holds one (T, T) float64 score matrix per head,');
  console.log(' flash O(Br x (Bk + HS)). cpu: user+system ms, robust to a loaded machine; wall ms is what a caller waits)');
}

async function main(): Promise<void> {
  const only = process.argv.includes('--attention-only');
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cpus`);
  if (!only) await modelRates();
  attentionTable();
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

main().catch((e) => {
  process.stderr.write(`model bench failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
