/**
 * `nx run moe:bench`: one MoE layer (E = 8, top-2, C = 576, I = 1536) in process, for batches
 * of 1, 32 and 256 tokens: experts on the plain-JS reference SwiGLU vs on ONNX Runtime, plus
 * the gate alone (router matmul + softmax + top-k + capacity plan), as tokens/s and ratios to
 * the JS path. Shows why the router runs experts on ORT and that gating is not the bottleneck.
 * Not a transport benchmark (that is `nx run router:bench`).
 */
import { MoeLayer, inProcessMoeExecutor, jsExpertBackend, ortExpertBackend, type ExpertBackend, type ExpertWeights } from '../src';

const C = 576;
const I = 1536;
const E = 8;
const K = 2;

function fill(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

const router = fill(E * C, 7, 0.1);
const experts: ExpertWeights[] = Array.from({ length: E }, (_, e) => ({
  w1: fill(I * C, 100 + 3 * e, 1 / Math.sqrt(C)),
  w2: fill(C * I, 101 + 3 * e, 1 / Math.sqrt(I)),
  w3: fill(I * C, 102 + 3 * e, 1 / Math.sqrt(C)),
}));

function layer(backend: ExpertBackend): MoeLayer {
  return new MoeLayer({ hiddenSize: C, intermediateSize: I, numExperts: E, topK: K, router, experts, backend });
}

/** Mean ms per call of `fn`, after one warm-up, running for at least `budgetMs` and 2 calls. */
async function time(fn: () => Promise<unknown>, budgetMs: number): Promise<number> {
  await fn();
  let calls = 0;
  const start = process.hrtime.bigint();
  let ms = 0;
  while (ms < budgetMs || calls < 2) {
    await fn();
    calls++;
    ms = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return ms / calls;
}

async function main(): Promise<void> {
  const budgetMs = Number(process.env.BENCH_MS ?? 1500);
  const js = inProcessMoeExecutor(new Map([[0, layer(jsExpertBackend)]]));
  const ortLayer = layer(ortExpertBackend({ threads: 2 }));
  const ort = inProcessMoeExecutor(new Map([[0, ortLayer]]));
  const rows: string[] = [];
  for (const T of [1, 32, 256]) {
    const x = fill(T * C, 1000 + T, 1);
    let diff = 0;
    const [a, b] = [await js.run(0, x, T), await ort.run(0, x, T)];
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    if (diff > 1e-3) throw new Error(`ORT and JS experts disagree at T=${T} (max |diff| ${diff})`);
    process.stderr.write(`  T=${T}: js experts, ort experts, gate only...\n`);
    const jsMs = await time(() => js.run(0, x, T), budgetMs);
    const ortMs = await time(() => ort.run(0, x, T), budgetMs);
    const gateMs = await time(async () => ortLayer.gate.route(x, T), Math.min(budgetMs, 500));
    const line = (name: string, ms: number) =>
      `${String(T).padStart(5)}  ${name.padEnd(12)} ${((T * 1000) / ms).toFixed(0).padStart(10)} ${ms.toFixed(3).padStart(10)}   x${(jsMs / ms).toFixed(2)}`;
    rows.push(line('js experts', jsMs), line('ort experts', ortMs), line('gate only', gateMs));
  }
  process.stdout.write(`MoE layer E=${E} top-${K} C=${C} I=${I}, in process; ratio = speed vs js experts\n`);
  process.stdout.write(`    T  path           tokens/s    ms/call   ratio\n${rows.join('\n')}\n`);
  await ortLayer.dispose();
}

main().catch((err: unknown) => {
  process.stderr.write(`moe bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
