/*
 * In-process throughput of the allocator on the calls a scheduler makes, plus the free
 * queue's O(1) middle removal against the obvious baseline (an array with indexOf +
 * splice), the reason vLLM keeps an intrusive doubly-linked list.
 * Deliberately single-threaded wall-clock timing with a warm-up; no gRPC (see the
 * kv-manager app's bench for the loopback numbers).
 */
import { performance } from 'node:perf_hooks';
import { FreeBlockQueue, KvCacheManager } from '../src';
import { mulberry32, randomTokens } from './rng';

export interface OpsResult {
  name: string;
  /** What one op is, for the printout. */
  unit: string;
  numOps: number;
  /** Wall-clock ops per second. */
  opsPerSec: number;
  /** CPU microseconds per op (user + system): stable when other processes share the cores. */
  cpuUsPerOp: number;
}

interface Timing {
  perSec: number;
  cpuUs: number;
}

/** Runs `body(i)` for i < n after `warm` warm-up calls; returns wall ops/s and CPU us per call. */
function timeIt(n: number, warm: number, body: (i: number) => void): Timing {
  for (let i = 0; i < warm; i++) body(i);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = warm; i < warm + n; i++) body(i);
  const cpu = process.cpuUsage(cpu0);
  return { perSec: n / ((performance.now() - t0) / 1000), cpuUs: (cpu.user + cpu.system) / n };
}

/** Decode steps: a batch of `batch` running sequences appends one token each per call. */
export function benchDecodeSteps(batch: number, steps: number): OpsResult {
  const m = new KvCacheManager({ numBlocks: Math.ceil((batch * (512 + 2 * steps)) / 16) + 1, blockSize: 16 });
  const rand = mulberry32(1);
  const ids = Array.from({ length: batch }, (_, i) => `d${i}`);
  m.allocateSlots(ids.map((seqId) => ({ seqId, newTokenIds: randomTokens(rand, 512) })));
  const t = timeIt(steps, Math.min(50, steps), (i) => {
    m.allocateSlots(
      ids.map((seqId) => ({ seqId, newTokenIds: [i] })),
      { commit: ids },
    );
  });
  const name = `decode step, batch ${batch}`;
  return { name, unit: 'sequence-steps', numOps: steps * batch, opsPerSec: t.perSec * batch, cpuUsPerOp: t.cpuUs / batch };
}

/** Admission of a 512-token prompt sharing a 256-token system prompt, commit, then free. */
export function benchAdmitFree(n: number): OpsResult {
  const m = new KvCacheManager({ numBlocks: 4097, blockSize: 16 });
  const rand = mulberry32(2);
  const system = randomTokens(rand, 256);
  const prompts = Array.from({ length: 64 }, () => system.concat(randomTokens(rand, 256)));
  const t = timeIt(n, 200, (i) => {
    const seqId = `p${i}`;
    m.allocateSlots([{ seqId, newTokenIds: prompts[i % prompts.length] }]);
    m.commit([seqId]);
    m.free([seqId]);
  });
  const name = 'admit 512-token prompt (256 cached) + commit + free';
  return { name, unit: 'requests', numOps: n, opsPerSec: t.perSec, cpuUsPerOp: t.cpuUs };
}

/** Parallel sampling: fork a 300-token sequence into 4, each writes one token (copy-on-write), free all. */
export function benchForkCow(n: number): OpsResult {
  const m = new KvCacheManager({ numBlocks: 4097, blockSize: 16 });
  const rand = mulberry32(3);
  const prompt = randomTokens(rand, 300);
  const t = timeIt(n, 200, (i) => {
    const parent = `f${i}`;
    const kids = [1, 2, 3].map((k) => `${parent}.${k}`);
    m.allocateSlots([{ seqId: parent, newTokenIds: prompt }]);
    m.fork(parent, kids);
    m.allocateSlots([parent, ...kids].map((seqId, k) => ({ seqId, newTokenIds: [k] })));
    m.free([parent, ...kids]);
  });
  return { name: 'fork n=4 + copy-on-write step + free', unit: 'forks', numOps: n, opsPerSec: t.perSec, cpuUsPerOp: t.cpuUs };
}

/** Prefix hits pull free blocks out of the middle of the queue: linked list vs array splice. */
export function benchQueueRemoval(numBlocks: number, n: number): { list: OpsResult; array: OpsResult } {
  const rand = mulberry32(4);
  const picks = Array.from({ length: n + 1000 }, () => 1 + Math.floor(rand() * (numBlocks - 1)));
  const q = new FreeBlockQueue(numBlocks);
  for (let b = 1; b < numBlocks; b++) q.append(b);
  const listOps = timeIt(n, 1000, (i) => {
    q.remove(picks[i]);
    q.append(picks[i]);
  });
  const arr: number[] = [];
  for (let b = 1; b < numBlocks; b++) arr.push(b);
  const arrayOps = timeIt(n, 1000, (i) => {
    arr.splice(arr.indexOf(picks[i]), 1);
    arr.push(picks[i]);
  });
  const name = `free-queue middle removal, ${numBlocks} blocks`;
  return {
    list: { name: `${name}: intrusive list`, unit: 'removals', numOps: n, opsPerSec: listOps.perSec, cpuUsPerOp: listOps.cpuUs },
    array: { name: `${name}: array indexOf+splice`, unit: 'removals', numOps: n, opsPerSec: arrayOps.perSec, cpuUsPerOp: arrayOps.cpuUs },
  };
}
