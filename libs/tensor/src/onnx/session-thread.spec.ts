/** @jest-environment ./src/onnx/ort-test-environment.js */
/*
 * OrtThreadSession: the same graph gives the same outputs on the thread as on a main-thread
 * session (and as a hand-worked case), resident tensors are fed, written and copied in call order, the event loop
 * keeps ticking during a long threaded run (while a main-thread run freezes it: the reason the
 * class exists), and a rejected model or a run after release is one clear error.
 */
import { OnnxGraphBuilder } from './graph-builder';
import { createOrtSession, ortTensor, outputF32 } from './session';
import { OrtThreadSession } from './session-thread';

/** y = x W^T + 1 with W (N, K) an initializer; x (M, K) an input. */
function linear(w: Float32Array, N: number, K: number): Uint8Array {
  const g = new OnnxGraphBuilder({ name: 'linear' });
  const x = g.input('x', 'float32', ['M', K]);
  const y = g.op('Gemm', [x, g.initializer('w', w, [N, K]), g.initializer('b', new Float32Array(N).fill(1), [N])], { transB: 1 });
  g.output(y, 'y', 'float32', ['M', N]);
  return g.toBytes();
}

/** `depth` chained (D, D) matmuls: enough work to take a noticeable time. */
function chain(D: number, depth: number): Uint8Array {
  const g = new OnnxGraphBuilder({ name: 'chain' });
  let h = g.input('x', 'float32', ['M', D]);
  for (let i = 0; i < depth; i++) {
    const w = Float32Array.from({ length: D * D }, (_, j) => (((j * 7 + i) % 13) - 6) / (13 * D));
    h = g.op('MatMul', [h, g.initializer(`w${i}`, w, [D, D])]);
  }
  g.output(h, 'y', 'float32', ['M', D]);
  return g.toBytes();
}

/** Largest gap between ticks of a 1 ms interval while `work` runs. */
async function maxLoopGapMs(work: () => Promise<unknown>): Promise<{ gap: number; ticks: number }> {
  let last = performance.now();
  let gap = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
    ticks++;
  }, 1);
  await new Promise((r) => setTimeout(r, 5));
  last = performance.now();
  ticks = 0; // count only the ticks during the run
  await work();
  gap = Math.max(gap, performance.now() - last);
  clearInterval(timer);
  return { gap, ticks };
}

describe('OrtThreadSession', () => {
  it('computes a hand-worked linear layer, and the same as a main-thread session', async () => {
    // W = [[1, 2], [3, 4], [5, 6]] (N 3, K 2); x = [[1, -1]] -> x W^T + 1 = [0, 0, 0]; x = [[2, 1]] -> [5, 11, 17]
    const bytes = linear(Float32Array.of(1, 2, 3, 4, 5, 6), 3, 2);
    const t = await OrtThreadSession.create(bytes, { threads: 1 });
    const m = await createOrtSession(bytes, { threads: 1 });
    try {
      const x = ortTensor(Float32Array.of(1, -1, 2, 1), [2, 2]);
      const got = await t.run({ x });
      expect(Array.from(outputF32(got as never, 'y'))).toEqual([0, 0, 0, 5, 11, 17]);
      expect(got.y.dims).toEqual([2, 3]);
      expect(Array.from(outputF32(got as never, 'y'))).toEqual(Array.from(outputF32(await m.run({ x }), 'y')));
    } finally {
      await t.release();
      await m.release();
    }
  });

  it('feeds resident tensors, scatters output rows into them and copies their rows, in call order', async () => {
    // y = x + r with r (2, 2) resident; after the run, y's row 1 (two parts of 1 float) goes to row 0 of r and of q.
    const g = new OnnxGraphBuilder({ name: 'add' });
    const y = g.op('Add', [g.input('x', 'float32', [2, 2]), g.input('r', 'float32', [2, 2])]);
    g.output(y, 'y', 'float32', [2, 2]);
    const t = await OrtThreadSession.create(g.toBytes(), { threads: 1 });
    try {
      await t.setResident('r', Float32Array.of(10, 20, 30, 40), [2, 2]);
      await t.setResident('q', Float32Array.of(0, 0, 0, 0), [2, 2]);
      const x = ortTensor(Float32Array.of(1, 2, 3, 4), [2, 2]);
      const write = { output: 'y', targets: ['r', 'q'], srcRows: Int32Array.of(1), slots: Int32Array.of(0), rowFloats: 1 };
      const first = await t.run({ x }, { residentFeeds: ['r'], writes: [write] });
      expect(Array.from(first.y.data as Float32Array)).toEqual([11, 22, 33, 44]); // the output before the write
      // r is now [33, 20, 30, 40] (row 1 part 0 = 33 -> r[0]); q is [44, 0, 0, 0] (part 1 = 44 -> q[0]).
      expect(Array.from((await t.run({ x }, { residentFeeds: ['r'] })).y.data as Float32Array)).toEqual([34, 22, 33, 44]);
      await t.copyRows(['r'], Int32Array.of(0, 3), 1); // r[3] = r[0] = 33
      expect(Array.from((await t.run({ x }, { residentFeeds: ['r'] })).y.data as Float32Array)).toEqual([34, 22, 33, 37]);
      const viaQ = await t.run({ x }, { residentFeeds: [] }).catch((e: Error) => e.message);
      expect(String(viaQ)).toMatch(/r/); // a missing feed is ORT's error, passed through
    } finally {
      await t.release();
    }
  });

  it('keeps the event loop ticking during a long run, where a main-thread run freezes it', async () => {
    const D = 512;
    const bytes = chain(D, 24);
    const t = await OrtThreadSession.create(bytes, { threads: 1 });
    const m = await createOrtSession(bytes, { threads: 1 });
    try {
      const M = 256;
      const x = ortTensor(Float32Array.from({ length: M * D }, (_, i) => Math.sin(i)), [M, D]);
      await m.run({ x }); // warm both
      await t.run({ x });
      const onMain = await maxLoopGapMs(() => m.run({ x }));
      const onThread = await maxLoopGapMs(() => t.run({ x }));
      // The main-thread run holds the loop for the whole run (the timer fires at most around it);
      // the thread run leaves it free (on a loaded machine not every millisecond, hence a loose bound).
      expect(onMain.gap).toBeGreaterThan(20);
      expect(onMain.ticks).toBeLessThanOrEqual(3);
      expect(onThread.ticks).toBeGreaterThanOrEqual(10);
    } finally {
      await t.release();
      await m.release();
    }
  });

  it('rejects a model ONNX Runtime cannot load, and a run after release, with one clear error', async () => {
    await expect(OrtThreadSession.create(Uint8Array.of(1, 2, 3), { threads: 1 })).rejects.toThrow(/ONNX Runtime rejected the model/);
    const t = await OrtThreadSession.create(linear(Float32Array.of(1), 1, 1), { threads: 1 });
    await t.release();
    await expect(t.run({ x: ortTensor(Float32Array.of(1), [1, 1]) })).rejects.toThrow(/released/);
  });
});
