/*
 * Why the gated FFN runs as two Gemms (gate, up) rather than one fused (C, 2I) Gemm plus a
 * Split: the two layouts, 30 FFN layers of the SmolLM shape each, timed round-robin on the same
 * input at decode-like and prefill-like row counts. Weights are pseudo-random (repeating or
 * zero pages can be deduplicated by the host and read from cache). Not a model.
 */
import { createOrtSession, floatAttr, OnnxGraphBuilder, ortTensor, type OrtSession } from '@llm/tensor';
import { noise } from './gemm-floor';
import { median, nowMs } from './measure';

const C = 576;
const I = 1536;
const LAYERS = 30;

let seed = 100;
const pattern = (n: number) => noise(n, seed++);

function buildFfnStack(fused: boolean): Uint8Array {
  const g = new OnnxGraphBuilder({ name: fused ? 'ffn_fused' : 'ffn_two_gemms', microsoftDomain: true });
  let x = g.input('x', 'float32', ['N', C]);
  const gemm = (a: string, out: number, inp: number, name: string) =>
    g.op('Gemm', [a, g.initializer(name, pattern(out * inp), [out, inp])], { transB: 1 });
  for (let l = 0; l < LAYERS; l++) {
    let gate: string;
    let up: string;
    if (fused) [gate, up] = g.node('Split', [gemm(x, 2 * I, C, `gate_up${l}`), g.constInt64([I, I])], 2, { axis: 1 });
    else [gate, up] = [gemm(x, I, C, `gate${l}`), gemm(x, I, C, `up${l}`)];
    const h = g.op('Mul', [g.op('QuickGelu', [gate], { alpha: floatAttr(1) }, 'com.microsoft'), up]); // silu(gate) * up
    x = gemm(h, C, I, `down${l}`);
  }
  g.output(x, 'y', 'float32', ['N', C]);
  return g.toBytes();
}

/** Median ms of the fused+Split and two-Gemm stacks at each row count, measured round-robin. */
export async function ffnLayoutAb(threads: number, rowCounts: number[], reps: number) {
  const fused = await createOrtSession(buildFfnStack(true), { threads });
  const two = await createOrtSession(buildFfnStack(false), { threads });
  const out: Array<{ rows: number; fusedMs: number; twoMs: number }> = [];
  for (const rows of rowCounts) {
    const feeds = { x: ortTensor(pattern(rows * C), [rows, C]) };
    const times: Record<'f' | 't', number[]> = { f: [], t: [] };
    const runs: Array<['f' | 't', OrtSession]> = [['f', fused], ['t', two]];
    for (const [, s] of runs) await s.run(feeds);
    for (let r = 0; r < reps; r++) {
      for (const [k, s] of runs) {
        const t0 = nowMs();
        await s.run(feeds);
        times[k].push(nowMs() - t0);
      }
    }
    out.push({ rows, fusedMs: median(times.f), twoMs: median(times.t) });
  }
  await Promise.all([fused.release(), two.release()]);
  return out;
}
