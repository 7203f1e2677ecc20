/**
 * One attention measurement in a fresh process, so its peak memory is its own:
 *   node dist/bench/attention-child.js <naive|flash> <T>
 * SmolLM-135M attention shape (NH 9, NKV 3, HS 64), causal, T queries over T keys. Prints JSON:
 * { ms (wall), cpuMs (user + system), peakExtraMiB } where peakExtraMiB = peak RSS (VmHWM) after
 * the call minus peak RSS before it; inputs and output are allocated before the first reading.
 * NOTE: getrusage's maxrss survives exec (a child starts with its parent's peak), so the peak is
 * read from /proc/self/status, which is per address space.
 */
import { readFileSync } from 'node:fs';
import { attentionFlash, attentionNaive, createRng } from '@llm/tensor';

/** Peak resident set size of this process in KiB. */
function peakRssKiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS;
}

function main(): void {
  const [kind, tArg] = process.argv.slice(2);
  const T = Number(tArg);
  if ((kind !== 'naive' && kind !== 'flash') || !Number.isInteger(T) || T <= 0) {
    throw new Error('usage: attention-child <naive|flash> <T>');
  }
  const NH = 9, NKV = 3, HS = 64;
  const rng = createRng(T);
  const q = rng.normalArray(T * NH * HS), k = rng.normalArray(T * NKV * HS), v = rng.normalArray(T * NKV * HS);
  const out = new Float32Array(T * NH * HS);
  const before = peakRssKiB();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const f = kind === 'naive' ? attentionNaive : attentionFlash;
  f(out, q, k, v, { numQueries: T, numKeys: T, numHeads: NH, numKvHeads: NKV, headDim: HS });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const after = peakRssKiB();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(`${JSON.stringify({ ms, cpuMs, peakExtraMiB: (after - before) / 1024, checksum: out[out.length - 1] })}\n`);
}

main();
