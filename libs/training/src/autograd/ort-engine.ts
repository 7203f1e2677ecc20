/*
 * The float32 training engine: every gemm of the forward and backward passes runs on ONNX
 * Runtime's CPU sgemm (MLAS), one cached session per (batched?, transA, transB) variant,
 * operands fed as graph inputs with symbolic dims so one session serves every shape.
 * ONNX Gemm takes transA/transB as attributes and an optional C added with beta = 1, which
 * carries both gradient accumulation (C = the old values) and a bias (C = (N), broadcast);
 * the batched variant is Transpose + MatMul.
 *
 * Not used for float64 (gradient checks) or for tiny products, where the ~0.1 ms fixed
 * cost of a session run exceeds the work: those go to the JavaScript loops.
 * Reference: ONNX Operators.md (Gemm, MatMul, Transpose).
 */
import { createOrtSession, floatAttr, OnnxGraphBuilder, ortTensor, outputF32, type OrtSession } from '@llm/tensor';
import { type GemmOpts, jsBatchedGemm, jsGemm, type MatmulEngine } from './engine';
import type { Arr } from './var';

export interface OrtEngineOptions {
  /** Intra-op threads per session (default 2). */
  threads?: number;
  /** Products with fewer flops (2·M·K·N) than this run in JavaScript (default 2e5). */
  minFlops?: number;
}

type Addend = 'none' | 'acc' | 'bias';

function gemmGraph(transA: boolean, transB: boolean, addend: Addend): Uint8Array {
  const g = new OnnxGraphBuilder({ name: `train_gemm_${+transA}${+transB}_${addend}` });
  const a = g.input('A', 'float32', transA ? ['K', 'M'] : ['M', 'K']);
  const b = g.input('B', 'float32', transB ? ['N', 'K'] : ['K', 'N']);
  const inputs = [a, b];
  if (addend !== 'none') inputs.push(g.input('C0', 'float32', addend === 'acc' ? ['M', 'N'] : ['N']));
  // op(A) (M, K) x op(B) (K, N) (+ C0) -> (M, N)
  const attrs = { transA: +transA, transB: +transB, alpha: floatAttr(1), beta: floatAttr(1) };
  g.output(g.op('Gemm', inputs, attrs), 'C', 'float32', ['M', 'N']);
  return g.toBytes();
}

function batchedGraph(transA: boolean, transB: boolean): Uint8Array {
  const g = new OnnxGraphBuilder({ name: `train_bgemm_${+transA}${+transB}` });
  let a = g.input('A', 'float32', transA ? ['Bt', 'K', 'M'] : ['Bt', 'M', 'K']);
  let b = g.input('B', 'float32', transB ? ['Bt', 'N', 'K'] : ['Bt', 'K', 'N']);
  if (transA) a = g.op('Transpose', [a], { perm: [0, 2, 1] });
  if (transB) b = g.op('Transpose', [b], { perm: [0, 2, 1] });
  // (Bt, M, K) x (Bt, K, N) -> (Bt, M, N)
  g.output(g.op('MatMul', [a, b]), 'C', 'float32', ['Bt', 'M', 'N']);
  return g.toBytes();
}

export class OrtEngine implements MatmulEngine {
  readonly name = 'ort';
  flops = 0;
  /** Flops that went to ONNX Runtime (the rest ran in JavaScript). */
  ortFlops = 0;
  private readonly sessions = new Map<string, OrtSession>();

  private constructor(
    private readonly threads: number,
    private readonly minFlops: number,
  ) {}

  /** An engine; sessions are created on first use of each variant. */
  static async create(opts: OrtEngineOptions = {}): Promise<OrtEngine> {
    const engine = new OrtEngine(opts.threads ?? 2, opts.minFlops ?? 2e5);
    await engine.session(false, false, true, 'none'); // fail early if ONNX Runtime cannot start
    return engine;
  }

  private async session(batched: boolean, ta: boolean, tb: boolean, addend: Addend): Promise<OrtSession> {
    const key = `${+batched}${+ta}${+tb}${addend}`;
    let s = this.sessions.get(key);
    if (!s) {
      s = await createOrtSession(batched ? batchedGraph(ta, tb) : gemmGraph(ta, tb, addend), { threads: this.threads });
      this.sessions.set(key, s);
    }
    return s;
  }

  async gemm(c: Arr, a: Arr, b: Arr, M: number, K: number, N: number, opts: GemmOpts = {}): Promise<void> {
    const f = 2 * M * K * N;
    this.flops += f;
    if (f < this.minFlops || !(a instanceof Float32Array) || !(b instanceof Float32Array)) {
      jsGemm(c, a, b, M, K, N, opts);
      return;
    }
    if (a.length !== M * K || b.length !== K * N || c.length !== M * N) {
      throw new Error(`gemm: sizes do not match M=${M} K=${K} N=${N}`);
    }
    const ta = !!opts.transA;
    const tb = !!opts.transB;
    if (opts.bias && (opts.accumulate || opts.bias.length !== N)) throw new Error(`gemm: bias must have N=${N} values and cannot be combined with accumulate`);
    const addend: Addend = opts.accumulate ? 'acc' : opts.bias ? 'bias' : 'none';
    const feeds: Record<string, ReturnType<typeof ortTensor>> = { A: ortTensor(a, ta ? [K, M] : [M, K]), B: ortTensor(b, tb ? [N, K] : [K, N]) };
    if (addend === 'acc') feeds.C0 = ortTensor(c as Float32Array, [M, N]);
    if (addend === 'bias') feeds.C0 = ortTensor(opts.bias as Float32Array, [N]);
    const res = await (await this.session(false, ta, tb, addend)).run(feeds);
    this.ortFlops += f;
    c.set(outputF32(res, 'C'));
  }

  async bgemm(c: Arr, a: Arr, b: Arr, batch: number, M: number, K: number, N: number, opts: GemmOpts = {}): Promise<void> {
    const f = 2 * batch * M * K * N;
    this.flops += f;
    if (f < this.minFlops || !(a instanceof Float32Array) || !(b instanceof Float32Array)) {
      jsBatchedGemm(c, a, b, batch, M, K, N, opts);
      return;
    }
    if (a.length !== batch * M * K || b.length !== batch * K * N || c.length !== batch * M * N) {
      throw new Error(`bgemm: sizes do not match batch=${batch} M=${M} K=${K} N=${N}`);
    }
    const ta = !!opts.transA;
    const tb = !!opts.transB;
    const s = await this.session(true, ta, tb, 'none');
    const res = await s.run({
      A: ortTensor(a, ta ? [batch, K, M] : [batch, M, K]),
      B: ortTensor(b, tb ? [batch, N, K] : [batch, K, N]),
    });
    this.ortFlops += f;
    store(c, outputF32(res, 'C'), !!opts.accumulate);
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
    this.sessions.clear();
  }
}

function store(c: Arr, out: Float32Array, accumulate: boolean): void {
  if (!accumulate) {
    c.set(out);
    return;
  }
  for (let i = 0; i < c.length; i++) c[i] += out[i];
}
