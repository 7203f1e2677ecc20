/*
 * KernelChoice: which kernel runs the next single-stream decode step, the wasm decoder or ONNX
 * Runtime, from the times the steps actually take.
 *
 * Why: the wasm decoder is the faster kernel on a quiet machine (1.5-2.5x ONNX Runtime's step
 * here), but its threads meet at a barrier after every matrix product, so when another busy process
 * takes one of its cores a step can run several times slower, while ONNX Runtime's step slows less.
 * Neither kernel wins everywhere, and the machine's load changes while a server runs.
 *
 * How: every step of the kernel in use is timed, and every `probeEvery`-th single-stream step runs
 * on the other kernel instead (a probe); every `closeEvery`-th while the current kernel's median is
 * no longer clearly under the other's last known one (within 0.9x of it, or past it), so a
 * slowdown is found out in a few dozen steps rather than a few hundred. When the median of the other kernel's last `probes` probes
 * is under `switchBelow` times the median of the current kernel's last `window` steps, the other
 * becomes current; the one left gets fresh probes from then on (its old times describe the load
 * that made it lose). Medians, so one step held up by a garbage collection moves nothing; the gap
 * of 1 / switchBelow between the two is the hysteresis, so two kernels of about the same speed do
 * not trade places back and forth. On a quiet machine the cost is one slower step in `probeEvery`
 * (about 1% at the defaults).
 *
 * Not here: running the steps or keeping the pools in step (./backend.ts). Follows the explore /
 * exploit split of a two-armed bandit, kept deliberately simple: fixed probing, no model of load.
 */

export type DecodeKernel = 'wasm' | 'ort';

export interface KernelChoiceOptions {
  /** Every this many single-stream steps, one runs on the kernel not in use (default 64). */
  probeEvery?: number;
  /** The same while the current kernel is not clearly the faster (default 8). */
  closeEvery?: number;
  /** Probes of the other kernel the comparison needs, its median over the last this many (default 3). */
  probes?: number;
  /** Steps of the current kernel in its median (default 16). */
  window?: number;
  /** Switch when the other's median is under this fraction of the current's (default 0.8). */
  switchBelow?: number;
}

export interface KernelSwitch {
  from: DecodeKernel;
  to: DecodeKernel;
  /** The medians (ms per step) that decided it. */
  fromMs: number;
  toMs: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export class KernelChoice {
  /** The kernel that runs the steps that are not probes. */
  current: DecodeKernel = 'wasm';
  private readonly probeEvery: number;
  private readonly closeEvery: number;
  private readonly probes: number;
  private readonly window: number;
  private readonly switchBelow: number;
  private readonly times: Record<DecodeKernel, number[]> = { wasm: [], ort: [] };
  private sinceProbe = 0;

  constructor(opts: KernelChoiceOptions = {}) {
    this.probeEvery = opts.probeEvery ?? 64;
    this.closeEvery = Math.min(opts.closeEvery ?? 8, this.probeEvery);
    this.probes = opts.probes ?? 3;
    this.window = opts.window ?? 16;
    this.switchBelow = opts.switchBelow ?? 0.8;
    if (!(this.probeEvery >= 2 && this.closeEvery >= 2 && this.probes >= 1 && this.window >= 1 && this.switchBelow > 0 && this.switchBelow <= 1)) {
      throw new Error(`KernelChoice: probeEvery >= 2, closeEvery >= 2, probes >= 1, window >= 1 and 0 < switchBelow <= 1 (got ${JSON.stringify(opts)})`);
    }
  }

  /** The kernel for the next single-stream step (every probeEvery-th, or closeEvery-th, is a probe of the other). */
  next(): DecodeKernel {
    const other = this.times[this.other()], cur = this.times[this.current];
    const close = other.length > 0 && cur.length > 0 && median(cur) > 0.9 * median(other);
    if (++this.sinceProbe < (close ? this.closeEvery : this.probeEvery)) return this.current;
    this.sinceProbe = 0;
    return this.other();
  }

  /** Records how long a step on `kernel` took; returns the switch it caused, if any. */
  record(kernel: DecodeKernel, ms: number): KernelSwitch | undefined {
    const mine = this.times[kernel];
    mine.push(ms);
    const keep = kernel === this.current ? this.window : this.probes;
    if (mine.length > keep) mine.splice(0, mine.length - keep);
    const other = this.times[this.other()], cur = this.times[this.current];
    if (kernel === this.current || other.length < this.probes || cur.length === 0) return undefined;
    const toMs = median(other), fromMs = median(cur);
    if (!(toMs < this.switchBelow * fromMs)) return undefined;
    const from = this.current;
    this.current = this.other();
    this.times[from] = []; // its times describe the load that made it lose: fresh probes from here
    return { from, to: this.current, fromMs, toMs };
  }

  private other(): DecodeKernel {
    return this.current === 'wasm' ? 'ort' : 'wasm';
  }
}
