/**
 * The expert SwiGLU FFN on ONNX Runtime (CPU): one session per expert holding its weights
 * as initializers, input (N, C) -> output (N, C), N symbolic so one session serves every batch.
 *
 *   [a | b] = x · [w1; w3]^T        (N, C) x (C, 2I) -> (N, 2I)   one GEMM for both projections
 *   h       = a * sigmoid(a) * b    (N, I)
 *   y       = h · w2^T              (N, I) x (I, C) -> (N, C)
 *
 * The weights are transposed once here so both products are plain MatMuls against constant
 * (K, N) operands, which ORT prepacks. Block-quantized experts (ExpertWeights.quantized) run the
 * same graph with com.microsoft MatMulNBits ([w1; w3] stacked by rows, then w2) at the given
 * accuracy level. Sessions open lazily on the first run and use the platform's session factory
 * (non-spinning thread pool).
 * Not here: gating or grouping; the plain-JS reference is JsExpertFfn (expert-ffn.ts).
 */
import { OnnxGraphBuilder, createOrtSession, matMulNBits, ortTensor, outputF32, type NBitsWeight, type OrtSession } from '@llm/tensor';
import type { ExpertBackend, ExpertFfn, ExpertWeights } from './expert-ffn';

/** (R, K) row-major -> (K, R) row-major, written at column offset `col` of a (K, width) matrix. */
function transposeInto(out: Float32Array, width: number, col: number, m: Float32Array, R: number, K: number): void {
  for (let r = 0; r < R; r++) {
    const mo = r * K;
    for (let c = 0; c < K; c++) out[c * width + col + r] = m[mo + c];
  }
}

/** [a; b] stacked by output rows (same K and layout). */
function stackNBits(a: NBitsWeight, b: NBitsWeight): NBitsWeight {
  if (a.bits !== b.bits || a.K !== b.K || a.blockSize !== b.blockSize) throw new Error('quantized expert: w1 and w3 must share bits, K and block size');
  const packed = new Uint8Array(a.packed.length + b.packed.length);
  packed.set(a.packed);
  packed.set(b.packed, a.packed.length);
  const scales = new Float32Array(a.scales.length + b.scales.length);
  scales.set(a.scales);
  scales.set(b.scales, a.scales.length);
  return { ...a, N: a.N + b.N, packed, scales };
}

/** ONNX bytes of one expert's FFN graph; quantized experts use MatMulNBits at `accuracyLevel`. */
export function buildExpertGraph(w: ExpertWeights, C: number, I: number, accuracyLevel = 4): Uint8Array {
  if (w.quantized) return buildQuantizedExpertGraph(w.quantized, C, I, accuracyLevel);
  const w13t = new Float32Array(C * 2 * I); // (C, 2I): columns [0, I) = w1^T, [I, 2I) = w3^T
  transposeInto(w13t, 2 * I, 0, w.w1, I, C);
  transposeInto(w13t, 2 * I, I, w.w3, I, C);
  const w2t = new Float32Array(I * C); // (I, C) = w2^T
  transposeInto(w2t, C, 0, w.w2, C, I);
  const g = new OnnxGraphBuilder({ name: 'moe_expert_swiglu' });
  const x = g.input('x', 'float32', ['N', C]);
  const ab = g.op('MatMul', [x, g.initializer('w13t', w13t, [C, 2 * I])]); // (N, 2I)
  const [a, b] = g.node('Split', [ab, g.constInt64([I, I])], 2, { axis: 1 }); // (N, I) each
  const h = g.op('Mul', [g.op('Mul', [a, g.op('Sigmoid', [a])]), b]); // silu(a) * b
  const y = g.op('MatMul', [h, g.initializer('w2t', w2t, [I, C])]); // (N, C)
  g.output(y, 'y', 'float32', ['N', C]);
  return g.toBytes();
}

function buildQuantizedExpertGraph(q: NonNullable<ExpertWeights['quantized']>, C: number, I: number, accuracyLevel: number): Uint8Array {
  const g = new OnnxGraphBuilder({ name: 'moe_expert_swiglu_nbits', microsoftDomain: true });
  const x = g.input('x', 'float32', ['N', C]);
  const ab = matMulNBits(g, x, stackNBits(q.w1, q.w3), 'w13', accuracyLevel); // (N, 2I)
  const [a, b] = g.node('Split', [ab, g.constInt64([I, I])], 2, { axis: 1 }); // (N, I) each
  const h = g.op('Mul', [g.op('Mul', [a, g.op('Sigmoid', [a])]), b]); // silu(a) * b
  g.output(matMulNBits(g, h, q.w2, 'w2', accuracyLevel), 'y', 'float32', ['N', C]); // (N, I) -> (N, C)
  return g.toBytes();
}

export class OrtExpertFfn implements ExpertFfn {
  private session: Promise<OrtSession> | null = null;
  private weights: ExpertWeights | null;

  constructor(
    weights: ExpertWeights,
    private readonly C: number,
    private readonly I: number,
    private readonly threads: number,
    private readonly accuracyLevel = 4,
  ) {
    this.weights = weights;
  }

  /** Opens the session now instead of on the first run (e.g. before a benchmark). */
  open(): Promise<OrtSession> {
    if (!this.session) {
      if (!this.weights) throw new Error('OrtExpertFfn: used after dispose()');
      const bytes = buildExpertGraph(this.weights, this.C, this.I, this.accuracyLevel);
      this.weights = null; // the session owns a copy; let the JS arrays go
      this.session = createOrtSession(bytes, { threads: this.threads });
    }
    return this.session;
  }

  async run(x: Float32Array, numRows: number): Promise<Float32Array> {
    if (numRows === 0) return new Float32Array(0);
    const session = await this.open();
    return outputF32(await session.run({ x: ortTensor(x, [numRows, this.C]) }), 'y');
  }

  async dispose(): Promise<void> {
    const s = this.session;
    this.session = null;
    this.weights = null;
    if (s) await (await s).release();
  }
}

/**
 * Expert FFNs on ORT with `threads` intra-op threads per session (sessions run one at a time);
 * quantized experts run MatMulNBits at `accuracyLevel` (default 4: int8 activations per block).
 */
export function ortExpertBackend(opts: { threads: number; accuracyLevel?: number }): ExpertBackend {
  return (w, C, I) => new OrtExpertFfn(w, C, I, opts.threads, opts.accuracyLevel ?? 4);
}
