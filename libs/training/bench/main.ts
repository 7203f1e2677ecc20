/*
 * Training benchmark (`nx run training:bench`), on this machine's CPU with 2 ORT threads:
 *   1. gemm GFLOP/s of the training engine (ONNX Runtime sgemm) vs the JavaScript loops,
 *      on shapes the models below issue;
 *   2. training tokens/s, share of step time in gemm, and peak memory for a ~1M and a
 *      ~10M-parameter GPT-2-architecture model (B=8, T=128, random token windows), with the
 *      1M model also trained on the JavaScript engine as the in-run baseline;
 *   3. wall time and steps for a small llama to reach 95% exact match on 3-digit addition.
 * Ratios are against baselines measured in the same run. Progress goes to stderr.
 */
import {
  evalSet, exactMatch, getTask, JsEngine, type MatmulEngine, OrtEngine, Rng, TaskBatches, TokenWindows, TrainableModel, Trainer, trainConfig,
} from '../src';

const log = (s: string): boolean => process.stderr.write(`${s}\n`);

function randomF32(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

async function gemmGflops(engine: MatmulEngine, M: number, K: number, N: number, reps: number): Promise<number> {
  const rng = new Rng(1);
  const a = randomF32(M * K, rng), b = randomF32(K * N, rng), c = new Float32Array(M * N);
  await engine.gemm(c, a, b, M, K, N, { transB: true });
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) await engine.gemm(c, a, b, M, K, N, { transB: true });
  return (2 * M * K * N * reps) / ((performance.now() - t0) / 1e3) / 1e9;
}

async function benchGemm(ort: OrtEngine): Promise<void> {
  console.log('## gemm (x · Wᵀ), GFLOP/s');
  const js = await gemmGflops(new JsEngine(), 256, 128, 256, 3);
  console.log(`  js   256x128x256:   ${js.toFixed(2)} GFLOP/s (baseline)`);
  for (const [M, K, N] of [[1024, 128, 512], [1024, 320, 1280], [1024, 320, 4096]]) {
    const g = await gemmGflops(ort, M, K, N, 10);
    console.log(`  ort  ${M}x${K}x${N}: ${g.toFixed(1)} GFLOP/s (${(g / js).toFixed(0)}x js)`);
  }
}

/** Wraps an engine's gemm calls to measure the time spent in them. */
function timed(engine: MatmulEngine): { engine: MatmulEngine; ms: () => number } {
  let ms = 0;
  const wrap = (f: (...a: never[]) => unknown) => async (...a: never[]) => {
    const t0 = performance.now();
    await f(...a);
    ms += performance.now() - t0;
  };
  const e = Object.create(engine) as MatmulEngine;
  e.gemm = wrap(engine.gemm.bind(engine) as never) as MatmulEngine['gemm'];
  e.bgemm = wrap(engine.bgemm.bind(engine) as never) as MatmulEngine['bgemm'];
  return { engine: e, ms: () => ms };
}

interface Throughput {
  params: number;
  tokensPerSec: number;
  gemmShare: number;
  peakRssMb: number;
}

async function throughput(label: string, sets: string[], engine: MatmulEngine, steps: number): Promise<Throughput> {
  const V = 4096, B = 8, T = 128;
  const cfg = trainConfig('gpt2', [...sets, 'n_positions=128'], { vocabSize: V, bosTokenId: null, eosTokenId: 0 });
  const rng = new Rng(2);
  const data = new TokenWindows(Int32Array.from({ length: 200_000 }, () => rng.int(V)), B, T);
  const t = timed(engine);
  const model = TrainableModel.init(cfg, 1, t.engine);
  const trainer = new Trainer(model, data, { steps: steps + 1, optimizer: 'adamw', schedule: { maxLr: 1e-3, minLr: 1e-4, warmupSteps: 1, totalSteps: steps + 1 } });
  await trainer.trainStep(); // warm-up (session caches, JIT)
  const gemm0 = t.ms();
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const info = await trainer.trainStep();
    log(`  ${label}: step ${s + 1}/${steps} loss ${info.loss.toFixed(3)} ${(info.tokens / info.seconds).toFixed(0)} tok/s`);
  }
  const secs = (performance.now() - t0) / 1e3;
  return {
    params: model.numParams,
    tokensPerSec: (steps * B * T) / secs,
    gemmShare: (t.ms() - gemm0) / 1e3 / secs,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

async function benchThroughput(ort: OrtEngine): Promise<void> {
  console.log('## training throughput, gpt2 architecture, B=8 T=128, AdamW, 2 threads');
  const small = ['n_embd=128', 'n_layer=4', 'n_head=4', 'n_inner=512'];
  const base = await throughput('1M js', small, new JsEngine(), 1);
  const r1 = await throughput('1M ort', small, ort, 8);
  const r10 = await throughput('10M ort', ['n_embd=320', 'n_layer=7', 'n_head=5', 'n_inner=1280'], ort, 4);
  const row = (name: string, r: Throughput, extra = ''): void =>
    console.log(
      `  ${name}: ${(r.params / 1e6).toFixed(2)}M params  ${r.tokensPerSec.toFixed(0)} tokens/s  gemm ${(100 * r.gemmShare).toFixed(0)}% of step  peak RSS ${r.peakRssMb.toFixed(0)} MB${extra}`,
    );
  row('1M  (js gemm, baseline)', base);
  row('1M  (ort gemm)         ', r1, `  ${(r1.tokensPerSec / base.tokensPerSec).toFixed(1)}x baseline`);
  row('10M (ort gemm)         ', r10, '  (peak RSS is the process maximum so far)');
}

async function benchAddition(ort: OrtEngine): Promise<void> {
  console.log('## time to 95% exact match, 3-digit addition (add3), llama C=64 L=2 NH=4 NKV=2, B=64');
  const task = getTask('add3');
  const data = new TaskBatches(task, 64, 1);
  const cfg = trainConfig('llama', ['hidden_size=64', 'intermediate_size=128', 'num_hidden_layers=2', 'num_attention_heads=4', 'num_key_value_heads=2'], {
    vocabSize: data.vocab.size, bosTokenId: null, eosTokenId: data.vocab.eosId,
  });
  const model = TrainableModel.init(cfg, 1, ort);
  const maxSteps = 4000;
  const trainer = new Trainer(model, data, { steps: maxSteps, optimizer: 'adamw', weightDecay: 0, schedule: { maxLr: 3e-3, minLr: 3e-4, warmupSteps: 50, totalSteps: maxSteps } });
  const examples = evalSet(task, 200, 5);
  const t0 = performance.now();
  let acc = 0;
  while (trainer.step < maxSteps && acc < 0.95) {
    const info = await trainer.trainStep();
    if (info.step % 100 !== 0) continue;
    acc = (await exactMatch((p, k, e) => model.greedy(p, k, e), data.vocab, examples)).accuracy;
    log(`  add3: step ${info.step} loss ${info.loss.toFixed(4)} exact match ${(100 * acc).toFixed(1)}% (${((performance.now() - t0) / 1e3).toFixed(0)} s)`);
  }
  const secs = (performance.now() - t0) / 1e3;
  if (acc >= 0.95) console.log(`  reached ${(100 * acc).toFixed(1)}% after ${trainer.step} steps in ${secs.toFixed(1)} s (${model.numParams} params, evaluation included)`);
  else console.log(`  did not reach 95% in ${maxSteps} steps (${(100 * acc).toFixed(1)}% after ${secs.toFixed(1)} s)`);
}

async function main(): Promise<void> {
  const ort = await OrtEngine.create({ threads: 2 });
  try {
    await benchGemm(ort);
    await benchThroughput(ort);
    await benchAddition(ort);
  } finally {
    await ort.dispose();
  }
}

void main();
