/*
 * KernelChoice on synthetic step times: the behaviour its file comment promises (stay while the
 * current kernel is faster, move when the other's probes are under 0.8x, move back when the load
 * goes, ignore single outliers, no back and forth between kernels of about the same speed).
 */
import { createRng } from '@llm/tensor';
import { KernelChoice, type DecodeKernel } from './kernel-choice';

/** Runs `steps` steps whose times come from `ms(kernel, step)`; returns the kernels used. */
function drive(c: KernelChoice, steps: number, ms: (k: DecodeKernel, i: number) => number, from = 0): DecodeKernel[] {
  const used: DecodeKernel[] = [];
  for (let i = from; i < from + steps; i++) {
    const k = c.next();
    used.push(k);
    c.record(k, ms(k, i));
  }
  return used;
}

describe('KernelChoice', () => {
  const rng = createRng(5);
  const noisy = (base: number, spread = 0.1) => base * (1 + (rng.next() * 2 - 1) * spread);

  it('stays on the faster wasm decoder of a quiet machine, probing ONNX Runtime one step in 64', () => {
    const c = new KernelChoice();
    const used = drive(c, 6400, (k) => noisy(k === 'wasm' ? 7 : 11));
    expect(c.current).toBe('wasm');
    expect(used.filter((k) => k === 'ort').length).toBe(100);
    expect(used.slice(0, 63).every((k) => k === 'wasm')).toBe(true);
    expect(used[63]).toBe('ort');
  });

  it('moves to ONNX Runtime once three probes beat the slowed decoder, and back when the load goes', () => {
    const c = new KernelChoice();
    drive(c, 640, (k) => noisy(k === 'wasm' ? 7 : 11));
    // a busy neighbour: the decoder's steps take 25 ms, ORT's 13
    const busy = drive(c, 64 * 4, (k) => noisy(k === 'wasm' ? 25 : 13), 640);
    expect(c.current).toBe('ort');
    const movedAt = busy.lastIndexOf('ort', busy.indexOf('wasm', busy.lastIndexOf('ort')) - 1);
    expect(movedAt).toBeGreaterThan(0);
    // quiet again: three fresh probes of the decoder (ms 7) bring it back
    const quiet = drive(c, 64 * 4, (k) => noisy(k === 'wasm' ? 7 : 11), 640 + 256);
    expect(c.current).toBe('wasm');
    expect(quiet.filter((k) => k === 'wasm').length).toBeGreaterThan(0);
  });

  it('finds a slowdown within a few dozen steps: probes every 8 once the current kernel is not clearly the faster', () => {
    const c = new KernelChoice();
    drive(c, 640, (k) => noisy(k === 'wasm' ? 7 : 11));
    const busy = drive(c, 200, (k) => noisy(k === 'wasm' ? 25 : 13), 640);
    const firstOnOrt = busy.findIndex((k, i) => i > 0 && k === 'ort' && busy[i - 1] === 'ort');
    expect(firstOnOrt).toBeGreaterThan(8); // the window's median has to move first
    expect(firstOnOrt).toBeLessThanOrEqual(40);
    // settled on ORT (13 ms, the decoder's probes 25): back to a probe in 64
    const settled = drive(c, 640, (k) => noisy(k === 'wasm' ? 25 : 13), 840);
    expect(settled.filter((k) => k === 'wasm').length).toBe(10);
  });

  it('reports the switch with the medians that decided it', () => {
    const c = new KernelChoice({ probeEvery: 4, probes: 3, window: 4 });
    const changes = [];
    for (let i = 0; i < 40; i++) {
      const k = c.next();
      const sw = c.record(k, k === 'wasm' ? 20 : 10);
      if (sw) changes.push(sw);
    }
    expect(changes).toEqual([{ from: 'wasm', to: 'ort', fromMs: 20, toMs: 10 }]);
  });

  it('one slow step (a garbage collection) moves nothing: medians, not means', () => {
    const c = new KernelChoice({ probeEvery: 8 });
    drive(c, 800, (k, i) => (k === 'wasm' ? (i % 50 === 0 ? 200 : 7) : 10));
    expect(c.current).toBe('wasm');
  });

  it('kernels of about the same speed do not trade places (hysteresis: 0.8x to move)', () => {
    const c = new KernelChoice({ probeEvery: 4 });
    let last = c.current, changes = 0;
    for (let i = 0; i < 4000; i++) {
      const k = c.next();
      c.record(k, noisy(k === 'wasm' ? 10 : 9.5, 0.1));
      if (c.current !== last) changes++;
      last = c.current;
    }
    expect(changes).toBe(0);
  });

  it('refuses settings that cannot work', () => {
    expect(() => new KernelChoice({ probeEvery: 1 })).toThrow(/probeEvery >= 2/);
    expect(() => new KernelChoice({ switchBelow: 1.5 })).toThrow(/switchBelow/);
  });
});
