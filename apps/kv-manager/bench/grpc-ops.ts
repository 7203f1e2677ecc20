/*
 * KvManager throughput over gRPC on loopback (127.0.0.1), against the same workload on
 * the library in process, measured in the same run. libs/kv's bench runs this file as a
 * child process (`nx run kv:bench`), so the pure library never imports a transport.
 * NOTE: server and client share this process (and its event loop), so the numbers are
 * per-core: a deployed kv-manager serves from its own process.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { NestFactory } from '@nestjs/core';
import { GrpcServerHost, connectGrpc } from '@llm/platform';
import { kv } from '@llm/proto';
import { KvCacheManager } from '@llm/kv';
import { KvManagerModule } from '../src';

const BATCH = 256;
const STEPS = 200;
const PROMPT = 512;

const tokens = (seed: number, n: number): number[] => Array.from({ length: n }, (_, i) => (seed * 7919 + i * 104729) % 32000);
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

interface Timing {
  /** Wall-clock calls per second. */
  perSec: number;
  /** CPU microseconds per call, client and server together (user + system). */
  cpuUs: number;
}

async function timeIt(n: number, warm: number, body: (i: number) => Promise<unknown> | unknown): Promise<Timing> {
  for (let i = 0; i < warm; i++) await body(i);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = warm; i < warm + n; i++) await body(i);
  const cpu = process.cpuUsage(cpu0);
  return { perSec: n / ((performance.now() - t0) / 1000), cpuUs: (cpu.user + cpu.system) / n };
}

function seqs(ids: string[], newTokens: (k: number) => number[]): kv.SequenceAllocation[] {
  return ids.map((seqId, k) => ({ seqId, newTokenIds: newTokens(k), cacheSalt: '', numTokensToCompute: 0, numLookaheadTokens: 0, numAcceptedLookaheadTokens: 0 }));
}

async function main(): Promise<void> {
  const module = KvManagerModule.register({ host: '127.0.0.1', grpcPort: 0, leaseSweepMs: 60_000 }, true);
  const app = await NestFactory.createApplicationContext(module, { logger: false });
  const conn = connectGrpc(kv.KvManagerDefinition, app.get(GrpcServerHost).address);
  const c = conn.client;
  const numBlocks = Math.ceil((BATCH * (PROMPT + 2 * STEPS)) / 16) + 1;
  await c.registerPool({ poolId: 'bench', numBlocks, blockSizeTokens: 16 });
  const ids = Array.from({ length: BATCH }, (_, k) => `d${k}`);
  await c.allocateSlots({ poolId: 'bench', ownerId: 'b', commitSeqIds: [], sequences: seqs(ids, (k) => tokens(k, PROMPT)) });
  process.stderr.write('[kv-manager bench] gRPC decode steps\n');
  const grpcSteps = await timeIt(STEPS, 20, (i) =>
    c.allocateSlots({ poolId: 'bench', ownerId: 'b', commitSeqIds: ids, sequences: seqs(ids, () => [i]) }),
  );

  const lib = new KvCacheManager({ numBlocks, blockSize: 16 });
  lib.allocateSlots(ids.map((seqId, k) => ({ seqId, newTokenIds: tokens(k, PROMPT) })));
  const libSteps = await timeIt(STEPS, 20, (i) => lib.allocateSlots(ids.map((seqId) => ({ seqId, newTokenIds: [i] })), { commit: ids }));

  process.stderr.write('[kv-manager bench] gRPC small calls\n');
  await c.registerPool({ poolId: 'small', numBlocks: 4097, blockSizeTokens: 16 });
  const prompt = tokens(1, 64);
  const grpcAdmit = await timeIt(2000, 200, async (i) => {
    await c.allocateSlots({ poolId: 'small', ownerId: '', commitSeqIds: [], sequences: seqs([`p${i}`], () => prompt) });
    await c.free({ poolId: 'small', seqIds: [`p${i}`] });
  });
  const libSmall = new KvCacheManager({ numBlocks: 4097, blockSize: 16 });
  const libAdmit = await timeIt(2000, 200, (i) => {
    libSmall.allocateSlots([{ seqId: `p${i}`, newTokenIds: prompt }]);
    libSmall.free([`p${i}`]);
  });
  await c.allocateSlots({ poolId: 'small', ownerId: '', commitSeqIds: [], sequences: seqs(['t'], () => prompt) });
  const grpcRead = await timeIt(3000, 300, () => c.getBlockTable({ poolId: 'small', seqId: 't' }));

  console.log('Over gRPC on loopback (client and server in one process), vs the library in process:');
  const row = (name: string, grpc: Timing, local: Timing | undefined) => {
    const cmp = local ? `   in process ${fmt(local.perSec).padStart(8)}/s, ${local.cpuUs.toFixed(0).padStart(5)} CPU us  (gRPC costs ${(grpc.cpuUs / local.cpuUs).toFixed(1)}x the CPU)` : '';
    console.log(`  ${name.padEnd(40)} gRPC ${fmt(grpc.perSec).padStart(7)}/s, ${grpc.cpuUs.toFixed(0).padStart(5)} CPU us${cmp}`);
  };
  row(`AllocateSlots, decode step of ${BATCH} seqs`, grpcSteps, libSteps);
  row('AllocateSlots(64-token prompt) + Free', grpcAdmit, libAdmit);
  row('GetBlockTable', grpcRead, undefined);
  console.log(`  (a ${BATCH}-sequence decode step is ${((BATCH * 1e6) / (grpcSteps.perSec * BATCH) / 1000).toFixed(2)} ms wall over gRPC here)`);
  conn.close();
  await app.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`kv-manager bench: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
