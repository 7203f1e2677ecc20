/**
 * Tensor kernel benchmark (`nx run tensor:bench`): GFLOP/s of the TypeScript matmulTransB
 * (the baseline, measured in the same run) against ONNX Runtime's Gemm (OrtMatMul, transB,
 * 2 threads) on the linear-layer shapes of a SmolLM-135M-sized model, decode (M = 1) and
 * prefill (M = 128). Also prints the load average, since the machine is shared.
 */
import { cpus, loadavg } from 'node:os';
import { OrtMatMul, createRng, matmulTransB } from '../src';

const SHAPES: Array<[string, number, number, number]> = [
  ['decode q_proj', 1, 576, 576],
  ['decode mlp up', 1, 576, 1536],
  ['decode lm_head', 1, 576, 49152],
  ['prefill q_proj', 128, 576, 576],
  ['prefill mlp up', 128, 576, 1536],
  ['prefill mlp down', 128, 1536, 576],
];

/** Median seconds of `fn` over runs taking about `budget` seconds in total (at least 3). */
async function time(fn: () => unknown, budget = 0.6): Promise<number> {
  await fn();
  const times: number[] = [];
  const start = process.hrtime.bigint();
  while (times.length < 3 || (Number(process.hrtime.bigint() - start) / 1e9 < budget && times.length < 200)) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

async function main(): Promise<void> {
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cpus`);
  const ort = await OrtMatMul.create({ threads: 2, transB: true });
  const rng = createRng(1);
  console.log('shape                 M     K      N    ts GFLOP/s   ort GFLOP/s   ratio ort/ts');
  for (const [name, M, K, N] of SHAPES) {
    process.stderr.write(`[tensor bench] ${name}\n`);
    const a = rng.normalArray(M * K), b = rng.normalArray(N * K), out = new Float32Array(M * N);
    const flop = 2 * M * K * N;
    const ts = flop / (await time(() => matmulTransB(out, a, b, M, K, N))) / 1e9;
    const fast = flop / (await time(() => ort.run(a, b, M, K, N))) / 1e9;
    console.log(`${name.padEnd(18)}${String(M).padStart(5)}${String(K).padStart(6)}${String(N).padStart(7)}${ts.toFixed(2).padStart(13)}${fast.toFixed(2).padStart(14)}${(fast / ts).toFixed(1).padStart(15)}`);
  }
  await ort.dispose();
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

main().catch((e) => {
  process.stderr.write(`tensor bench failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
