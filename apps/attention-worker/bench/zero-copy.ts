/*
 * Checks that onnxruntime-node hands a Float32Array input to native code without copying it:
 * a graph that gathers one row runs about as fast with a 400 MB input as with a 1 MB one (a
 * copy would cost ~20 ms per 400 MB at ~20 GB/s; measured: a fraction of a millisecond). The KV pool rides on this: every
 * layer's K and V pool arrays are graph inputs on every step.
 * Not a test (timings are the point, and the machine may be loaded); the bench prints it.
 */
import { createOrtSession, OnnxGraphBuilder, ortTensor } from '@llm/tensor';
import { median, nowMs } from './measure';

export async function inputCopyMs(threads: number): Promise<{ smallMs: number; largeMs: number; largeMb: number }> {
  const g = new OnnxGraphBuilder({ name: 'gather_probe' });
  const pool = g.input('pool', 'float32', ['rows', 192]);
  const idx = g.input('idx', 'int32', [1]);
  g.output(g.op('Gather', [pool, idx], { axis: 0 }), 'y', 'float32', [1, 192]);
  const session = await createOrtSession(g.toBytes(), { threads });
  const time = async (rows: number) => {
    const feeds = { pool: ortTensor(new Float32Array(rows * 192), [rows, 192]), idx: ortTensor(Int32Array.of(5), [1]) };
    await session.run(feeds);
    const ts: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = nowMs();
      await session.run(feeds);
      ts.push(nowMs() - t0);
    }
    return median(ts);
  };
  const largeRows = 1 << 19;
  const out = { smallMs: await time(1024), largeMs: await time(largeRows), largeMb: (largeRows * 192 * 4) / 1e6 };
  await session.release();
  return out;
}
