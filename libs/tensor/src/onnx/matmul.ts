/*
 * OrtMatMul: C = A x B (or A x B^T) on ONNX Runtime's CPU sgemm, one session whose two operands
 * are both graph inputs with symbolic dims, so one session serves every shape. Plus
 * `matmulGflops` / `timeOrtMatMul` for benchmarks.
 *
 * Not a way to run a model: each `run` costs a fixed ~0.1 ms in Node, so hot paths put whole
 * layers or whole models into one graph (see libs/model/src/onnx). This exists for kernels,
 * training experiments and benchmarks that need one fast GEMM.
 * Follows ONNX MatMul (numpy matmul semantics) and Gemm (transB) from docs/Operators.md.
 */
import { OnnxGraphBuilder } from './graph-builder';
import { createOrtSession, ortTensor, outputF32, OrtSession } from './session';

export interface OrtMatMulOptions {
  threads: number;
  /** When true, B is given as (N, K) and C = A x B^T. */
  transB?: boolean;
}

/** The ONNX bytes of the two-input matmul graph: A (M, K), B (K, N) or (N, K) -> C (M, N). */
export function buildMatMulGraph(transB: boolean): Uint8Array {
  const g = new OnnxGraphBuilder({ name: transB ? 'matmul_bt' : 'matmul' });
  const a = g.input('A', 'float32', ['M', 'K']);
  const b = g.input('B', 'float32', transB ? ['N', 'K'] : ['K', 'N']);
  // (M, K) x (K, N) -> (M, N); Gemm with transB=1 reads B as (N, K) without a copy.
  const c = transB ? g.op('Gemm', [a, b], { transB: 1 }) : g.op('MatMul', [a, b]);
  g.output(c, 'C', 'float32', ['M', 'N']);
  return g.toBytes();
}

export class OrtMatMul {
  private constructor(
    private readonly session: OrtSession,
    readonly transB: boolean,
  ) {}

  static async create(opts: OrtMatMulOptions): Promise<OrtMatMul> {
    const transB = opts.transB ?? false;
    return new OrtMatMul(await createOrtSession(buildMatMulGraph(transB), { threads: opts.threads }), transB);
  }

  /** C (M, N) = A (M, K) x B (K, N), or x B^T when B is (N, K) and transB is set. */
  async run(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Promise<Float32Array> {
    for (const [name, v] of [['M', m], ['K', k], ['N', n]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`OrtMatMul.run: ${name} must be a positive integer, got ${v}`);
    }
    if (a.length !== m * k) throw new Error(`OrtMatMul.run: A has ${a.length} elements, expected M*K = ${m * k}`);
    if (b.length !== k * n) throw new Error(`OrtMatMul.run: B has ${b.length} elements, expected K*N = ${k * n}`);
    const feeds = { A: ortTensor(a, [m, k]), B: ortTensor(b, this.transB ? [n, k] : [k, n]) };
    return outputF32(await this.session.run(feeds), 'C');
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** Floating-point operations of an (M, K) x (K, N) product: 2 M K N (one multiply, one add). */
export function matmulFlops(m: number, k: number, n: number): number {
  return 2 * m * k * n;
}

/** GFLOP/s of an (M, K) x (K, N) product that took `seconds`. */
export function matmulGflops(m: number, k: number, n: number, seconds: number): number {
  return matmulFlops(m, k, n) / seconds / 1e9;
}

export interface MatMulTiming {
  /** Median seconds per product over the timed repetitions. */
  seconds: number;
  gflops: number;
}

/** Times `reps` products of random operands after one warm-up run; reports the median. */
export async function timeOrtMatMul(mm: OrtMatMul, m: number, k: number, n: number, reps = 5): Promise<MatMulTiming> {
  const a = Float32Array.from({ length: m * k }, () => Math.random() - 0.5);
  const b = Float32Array.from({ length: k * n }, () => Math.random() - 0.5);
  await mm.run(a, b, m, k, n);
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    await mm.run(a, b, m, k, n);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((x, y) => x - y);
  const seconds = times[Math.floor(times.length / 2)];
  return { seconds, gflops: matmulGflops(m, k, n, seconds) };
}
