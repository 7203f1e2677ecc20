/*
 * The GEMM-only floor: a graph holding the same weight matrices as the model (fused QKV, O,
 * fused gate|up, down per layer, and the tied lm_head on the logit rows) and nothing else, run
 * on the step's N rows. A step's time over this floor's time, measured side by side, says how
 * much the rest (attention, norms, RoPE, gathers, the binding) costs, whatever the machine's load.
 * Not a model: the matrices hold pseudo-random values (NOT zeros: all-zero weight pages ran 2x
 * faster here at batch 1, presumably deduplicated zero pages served from cache, which made a
 * floor no real model can reach) and the layers are chained only so that nothing is pruned.
 */
import type { FlatBatch, ModelConfig } from '@llm/model';
import { createOrtSession, OnnxGraphBuilder, ortTensor, outputF32, type OrtSession } from '@llm/tensor';
import type { StepRunner } from './measure';

/** Uniform values in [-0.02, 0.02) from a 32-bit LCG (x' = 1664525 x + 1013904223 mod 2^32). */
export function noise(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = (x / 4294967296 - 0.5) * 0.04;
  }
  return out;
}

function buildFloorGraph(c: ModelConfig): Uint8Array {
  const C = c.hiddenSize;
  const I = c.intermediateSize;
  const qkv = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
  const g = new OnnxGraphBuilder({ name: 'gemm_floor' });
  let x = g.input('x', 'float32', ['N', C]);
  let seed = 1;
  const gemm = (a: string, out: number, inp: number, name: string) =>
    g.op('Gemm', [a, g.initializer(name, noise(out * inp, seed++), [out, inp])], { transB: 1 });
  const cols = (a: string, n: number) => g.op('Slice', [a, g.constInt64([0]), g.constInt64([n]), g.constInt64([1])]);
  for (let l = 0; l < c.numLayers; l++) {
    const h = cols(gemm(x, qkv, C, `qkv${l}`), c.numHeads * c.headDim); // (N, NH*HS)
    const o = gemm(h, C, c.numHeads * c.headDim, `o${l}`); // (N, C)
    x = gemm(cols(gemm(o, 2 * I, C, `gate_up${l}`), I), C, I, `down${l}`); // (N, C)
  }
  const rows = g.input('rows', 'int32', ['R']);
  g.output(gemm(g.op('Gather', [x, rows], { axis: 0 }), c.vocabSize, C, 'lm_head'), 'y', 'float32', ['R', c.vocabSize]);
  return g.toBytes();
}

export class GemmFloor implements StepRunner {
  private constructor(
    private readonly session: OrtSession,
    private readonly hiddenSize: number,
  ) {}

  static async create(c: ModelConfig, threads: number): Promise<GemmFloor> {
    return new GemmFloor(await createOrtSession(buildFloorGraph(c), { threads }), c.hiddenSize);
  }

  async forward(batch: FlatBatch): Promise<Float32Array> {
    const N = batch.tokenIds.length;
    const feeds = {
      x: ortTensor(new Float32Array(N * this.hiddenSize), [N, this.hiddenSize]),
      rows: ortTensor(batch.logitRows, [batch.logitRows.length]),
    };
    return outputF32(await this.session.run(feeds), 'y');
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
