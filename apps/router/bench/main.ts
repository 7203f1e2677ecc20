/**
 * `nx run router:bench`: tokens/s through one MoE layer (8 experts, top-2, C = 576, I = 1536)
 * for batches of 1, 32 and 256 tokens, three ways, printed as ratios to the first:
 *   in-process   MoeExecutor with ONNX Runtime experts in this process (2 ORT threads)
 *   1 replica    Dispatch over gRPC to a router process hosting all 8 experts (2 threads)
 *   2 replicas   Dispatch over gRPC to a router process hosting experts 0-3 (1 thread), which
 *                fans experts 4-7 out to a second process over gRPC (1 thread)
 * so the cost of attention-FFN disaggregation (serialisation, loopback, fan-out) is visible.
 * Every configuration is checked against the in-process output before it is timed.
 * NOTE: the replicas share this machine's cores with the client; on a 2-core box two replicas
 * cannot run faster than one — the interesting number is the overhead, not a speed-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { connectGrpc } from '@llm/platform';
import { router } from '@llm/proto';
import { RouterDispatchExecutor } from '../src';
import { benchRouter, C, E, fill } from './bench-model';

interface Runner {
  name: string;
  run(hidden: Float32Array, T: number): Promise<Float32Array>;
  /** Router-side ns so far (DispatchResponse.compute_ns), for the gRPC paths. */
  serverNs?: () => number;
}

const BATCHES = [1, 32, 256];
const children: ChildProcess[] = [];

/** Spawns `replica.js <experts> <threads> [peers]` and waits for its `PORT n` line. */
function startReplica(experts: string, threads: number, peers = ''): Promise<{ address: string }> {
  const args = [join(__dirname, 'replica.js'), experts, String(threads), peers];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve({ address: `127.0.0.1:${m[1]}` });
    });
    child.once('exit', (code) => reject(new Error(`bench replica (${experts}) exited with ${code} before listening`)));
  });
}

interface Timing {
  tokensPerS: number;
  msPerCall: number;
  serverMs: number;
}

/**
 * Times the runners round-robin (one call each per round) until `budgetMs` has passed, so a
 * change in machine load hits every path alike and the ratios stay meaningful on a shared box.
 */
async function timeInterleaved(runners: Runner[], x: Float32Array, T: number, budgetMs: number): Promise<Timing[]> {
  for (const r of runners) for (let i = 0; i < 2; i++) await r.run(x, T); // warm-up (sessions, connections)
  const ms = runners.map(() => 0);
  const ns0 = runners.map((r) => r.serverNs?.() ?? 0);
  let rounds = 0;
  const start = Date.now();
  while (Date.now() - start < budgetMs || rounds < 3) {
    for (let i = 0; i < runners.length; i++) {
      const t0 = process.hrtime.bigint();
      await runners[i].run(x, T);
      ms[i] += Number(process.hrtime.bigint() - t0) / 1e6;
    }
    rounds++;
  }
  return runners.map((r, i) => ({
    tokensPerS: (rounds * T) / (ms[i] / 1000),
    msPerCall: ms[i] / rounds,
    serverMs: r.serverNs ? (r.serverNs() - ns0[i]) / 1e6 / rounds : ms[i] / rounds,
  }));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function main(): Promise<void> {
  const budgetMs = Number(process.env.BENCH_MS ?? 4000);
  process.stderr.write(`router bench: building the layer (E=${E}, C=${C}) and starting 3 replica processes...\n`);
  const local = await benchRouter(Array.from({ length: E }, (_, e) => e), 2).executor();
  const [all, high] = await Promise.all([startReplica('all', 2), startReplica('4-7', 1)]);
  const gating = await startReplica('0-3', 1, high.address);
  const one = connectGrpc(router.RouterDefinition, all.address, { deadlineMs: 60_000 });
  const two = connectGrpc(router.RouterDefinition, gating.address, { deadlineMs: 60_000 });
  const viaOne = new RouterDispatchExecutor(one.client, C, 60_000);
  const viaTwo = new RouterDispatchExecutor(two.client, C, 60_000);
  const runners: Runner[] = [
    { name: 'in-process', run: (x, T) => local.run(0, x, T) },
    { name: '1 replica (gRPC)', run: (x, T) => viaOne.run(0, x, T), serverNs: () => viaOne.computeNs },
    { name: '2 replicas (gRPC)', run: (x, T) => viaTwo.run(0, x, T), serverNs: () => viaTwo.computeNs },
  ];
  const rows: string[] = [];
  for (const T of BATCHES) {
    const x = fill(T * C, 1000 + T, 1);
    const ref = await runners[0].run(x, T);
    for (const r of runners) {
      const diff = maxDiff(await r.run(x, T), ref);
      if (diff > 1e-3) throw new Error(`${r.name} disagrees with in-process at T=${T} (max |diff| ${diff})`);
    }
    process.stderr.write(`  T=${T}: timing ${runners.length} paths round-robin for ${budgetMs} ms...\n`);
    const timings = await timeInterleaved(runners, x, T, budgetMs);
    timings.forEach(({ tokensPerS, msPerCall, serverMs }, i) => {
      rows.push(
        `${String(T).padStart(5)}  ${runners[i].name.padEnd(18)} ${tokensPerS.toFixed(0).padStart(9)} ${msPerCall.toFixed(2).padStart(9)} ` +
          `${serverMs.toFixed(2).padStart(10)}   x${(tokensPerS / timings[0].tokensPerS).toFixed(2)}`,
      );
    });
  }
  process.stdout.write(`MoE layer E=${E} top-2 C=${C} I=1536, ONNX Runtime CPU experts; ratio = tokens/s vs in-process\n`);
  process.stdout.write('ms/call is what the caller waits; router ms is the time inside the (gating) router\n');
  process.stdout.write(`    T  path                tokens/s   ms/call  router ms   ratio\n${rows.join('\n')}\n`);
  one.close();
  two.close();
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`router bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.stdin?.end();
  });
