/*
 * `nx run kv:bench`: the paged allocator's throughput in process (and over gRPC on
 * loopback when the kv-manager app is built: its bench runs as a child process, so this
 * pure library never imports a transport), and its memory waste against contiguous
 * max-length reservation on a long-tailed workload. Ratios are against baselines
 * measured in the same run. Progress goes to stderr.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OpsResult, benchAdmitFree, benchDecodeSteps, benchForkCow, benchQueueRemoval } from './ops';
import { measureWaste } from './waste';

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
const progress = (msg: string): void => void process.stderr.write(`[kv bench] ${msg}\n`);

function printOps(r: OpsResult): void {
  const wall = `${fmt(r.opsPerSec).padStart(10)} ${r.unit}/s`;
  console.log(`  ${r.name.padEnd(58)} ${wall.padEnd(28)} ${r.cpuUsPerOp.toFixed(2).padStart(9)} CPU us each`);
}

function runOps(): void {
  console.log('In-process throughput (block size 16):');
  progress('decode steps');
  printOps(benchDecodeSteps(256, 400));
  progress('admit + free');
  printOps(benchAdmitFree(5000));
  progress('fork + copy-on-write');
  printOps(benchForkCow(3000));
  progress('free-queue removal');
  const q = benchQueueRemoval(65536, 20000);
  printOps(q.list);
  printOps(q.array);
  console.log(`  -> intrusive list: ${(q.array.cpuUsPerOp / q.list.cpuUsPerOp).toFixed(0)}x less CPU per removal than the array baseline`);
}

function runWaste(): void {
  progress('waste simulation');
  const w = measureWaste(4000, 64, 16);
  console.log('');
  console.log(`Memory waste, ${w.numRequests} requests, 64 concurrent, log-normal lengths`);
  console.log(
    `  (mean prompt ${w.meanPromptTokens.toFixed(0)} tokens, mean output ${w.meanOutputTokens.toFixed(0)}, p99 total ${w.p99TotalTokens}; max context 2048):`,
  );
  console.log(`  paged, block size 16 (internal fragmentation)      ${pct(w.pagedWaste)}`);
  console.log(`  contiguous, reserve max context per request        ${pct(w.maxContextWaste)}   (${(w.maxContextWaste / w.pagedWaste).toFixed(0)}x paged)`);
  console.log(`  contiguous, reserve prompt + max_tokens (1024)     ${pct(w.maxTokensWaste)}   (${(w.maxTokensWaste / w.pagedWaste).toFixed(0)}x paged)`);
  for (const bs of [8, 32]) console.log(`  paged, block size ${bs}`.padEnd(53) + pct(measureWaste(4000, 64, bs).pagedWaste));
}

function runGrpc(): void {
  const child = join(__dirname, '..', '..', '..', '..', 'apps', 'kv-manager', 'dist', 'bench', 'grpc-ops.js');
  console.log('');
  if (!existsSync(child)) {
    console.log(`Over gRPC: skipped (${child} not built; run node scripts/build.mjs)`);
    return;
  }
  progress('gRPC loopback (child process)');
  const r = spawnSync(process.execPath, [child], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) console.log(`Over gRPC: the child bench exited with ${r.status}`);
}

runOps();
runWaste();
runGrpc();
