/*
 * `nx run model:bench-quant`: which ONNX Runtime kernel should run quantized weights, measured
 * against each other and against f32 in the same run (round-robin, same load):
 *   f32 Gemm | Q8_0 MatMulNBits (accuracy level 0: f32 compute; 4: int8 activations) |
 *   Q8_0 as int8 per row with DynamicQuantizeLinear + MatMulInteger | Q4_0 MatMulNBits (0, 4)
 * 1. one linear layer of the SmolLM-135M FFN (1536 x 576) at M = 1, 8 and 128 rows;
 * 2. the whole decoder step (OrtBackend, one session) of a SmolLM-135M-shaped random model:
 *    decode at batch 1 and 8 (context 128) and a 128-token prefill, with the weight bytes one
 *    step reads (a decode step at batch 1 is bound by them).
 * Ratios are against f32 in the same round. The load average is printed: on a shared machine
 * absolute numbers move a lot, ratios much less. Not a test: no assertions.
 */
import { createOrtSession, dynamicInt8MatMul, matMulNBits, OnnxGraphBuilder, ortTensor, outputF32 } from '@llm/tensor';
import { OrtBackend, quantizeMatrix, quantizeModelWeights, toInt8Rows, toNBits, type QuantFormat, type QuantKernel } from '../src';
import { benchPool, decodeBatch, load, prefillBatch, progress, roundRobin, smolLm } from './quant-workload';

const THREADS = 2;
const fast = process.argv.includes('--fast');

interface Variant {
  name: string;
  format: QuantFormat | 'f32';
  kernel?: QuantKernel;
}

const VARIANTS: Variant[] = [
  { name: 'f32 Gemm', format: 'f32' },
  { name: 'Q8_0 MatMulNBits acc 0', format: 'q8_0', kernel: { kind: 'nbits', accuracyLevel: 0 } },
  { name: 'Q8_0 MatMulNBits acc 4', format: 'q8_0', kernel: { kind: 'nbits', accuracyLevel: 4 } },
  { name: 'Q8_0->int8 DQL+MatMulInteger', format: 'q8_0', kernel: { kind: 'int8-dynamic' } },
  { name: 'Q4_0 MatMulNBits acc 0', format: 'q4_0', kernel: { kind: 'nbits', accuracyLevel: 0 } },
  { name: 'Q4_0 MatMulNBits acc 4', format: 'q4_0', kernel: { kind: 'nbits', accuracyLevel: 4 } },
];

function linearGraph(v: Variant, w: Float32Array, N: number, K: number): Uint8Array {
  const g = new OnnxGraphBuilder({ name: 'linear', microsoftDomain: true });
  const x = g.input('x', 'float32', ['M', K]);
  let y: string;
  if (v.format === 'f32') y = g.op('Gemm', [x, g.initializer('w', w, [N, K])], { transB: 1 });
  else {
    const q = quantizeMatrix(w, N, K, v.format);
    const k = v.kernel as QuantKernel;
    y = k.kind === 'nbits' ? matMulNBits(g, x, toNBits(q), 'w', k.accuracyLevel) : dynamicInt8MatMul(g, x, toInt8Rows(q), 'w');
  }
  g.output(y, 'y', 'float32', ['M', N]);
  return g.toBytes();
}

async function kernelTable(): Promise<void> {
  const N = 1536, K = 576;
  const w = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 12.9898) * 0.05);
  progress(`building ${VARIANTS.length} single-linear sessions (${N} x ${K})`);
  const sessions = await Promise.all(VARIANTS.map((v) => createOrtSession(linearGraph(v, w, N, K), { threads: THREADS })));
  console.log(`\n1. one linear layer y = x W^T, W ${N} x ${K} (SmolLM-135M gate/up), ${THREADS} threads; median us per call, ratio f32/variant (>1 = faster)`);
  console.log(`${'kernel'.padEnd(32)}${[1, 8, 128].map((M) => `M=${M}`.padStart(18)).join('')}`);
  const cols: number[][] = [];
  for (const M of [1, 8, 128]) {
    const x = ortTensor(Float32Array.from({ length: M * K }, (_, i) => Math.cos(i)), [M, K]);
    const calls = M === 128 ? 10 : 60;
    progress(`linear M=${M}: ${calls} rounds x ${VARIANTS.length} kernels`);
    cols.push(await roundRobin(sessions.map((s) => async () => outputF32(await s.run({ x }), 'y')), fast ? 5 : calls));
  }
  VARIANTS.forEach((v, i) => {
    const cells = cols.map((c) => `${(c[i] * 1000).toFixed(0).padStart(8)} (${(c[0] / c[i]).toFixed(2)}x)`.padStart(18));
    console.log(`${v.name.padEnd(32)}${cells.join('')}`);
  });
  await Promise.all(sessions.map((s) => s.release()));
}

/** Bytes of weights a batch-1 decode step reads: every matrix once (the embedding: one row). */
function stepBytes(format: QuantFormat | 'f32', c: ReturnType<typeof smolLm>['config']): number {
  const { hiddenSize: C, intermediateSize: I, numHeads: NH, numKvHeads: NKV, headDim: HS, vocabSize: V, numLayers: L } = c;
  const perLayer = C * (NH + 2 * NKV) * HS + NH * HS * C + 3 * C * I;
  const bpw = (f: QuantFormat | 'f32') => (f === 'f32' ? 4 : f === 'q8_0' ? 34 / 32 : 18 / 32);
  return L * perLayer * bpw(format) + V * C * bpw(format === 'f32' ? 'f32' : 'q8_0'); // the head is Q8_0 under both formats
}

async function stepTable(): Promise<void> {
  progress('random SmolLM-135M-shaped weights');
  const model = smolLm(1);
  const c = model.config;
  const quantized = new Map<QuantFormat, typeof model.weights>();
  for (const f of ['q8_0', 'q4_0'] as QuantFormat[]) {
    progress(`quantizing to ${f}`);
    quantized.set(f, quantizeModelWeights(c, model.weights, { format: f }));
  }
  const backends: OrtBackend[] = [];
  for (const v of VARIANTS) {
    progress(`building the decoder session: ${v.name}`);
    const weights = v.format === 'f32' ? model.weights : (quantized.get(v.format) as typeof model.weights);
    backends.push(await OrtBackend.create({ config: c, weights }, { threads: THREADS, quantKernel: v.kernel }));
  }
  const CTX = 128, MAX = CTX + 64;
  const pool = benchPool(c, 8, MAX);
  const prefill = prefillBatch(128, c.vocabSize, MAX);
  progress('filling the KV pool (a 128-token prefill per sequence)');
  for (let s = 0; s < 8; s++) await backends[0].forward(prefillBatch(CTX, c.vocabSize, MAX, s), pool);
  const work: Array<[string, number, (r: number) => Parameters<OrtBackend['forward']>[0], number]> = [
    ['decode batch 1', 1, (r) => decodeBatch(1, CTX + Math.max(r, 0) % 32, c.vocabSize, MAX), 16],
    ['decode batch 8', 8, (r) => decodeBatch(8, CTX + Math.max(r, 0) % 32, c.vocabSize, MAX), 10],
    ['prefill 128', 128, () => prefill, 4],
  ];
  const rows: number[][] = [];
  for (const [name, tokens, batch, rounds] of work) {
    progress(`${name}: ${fast ? 2 : rounds} rounds x ${VARIANTS.length} variants`);
    const ms = await roundRobin(backends.map((b) => (r: number) => b.forward(batch(r), pool)), fast ? 2 : rounds);
    rows.push(ms.map((t) => (tokens * 1000) / t));
  }
  console.log(`\n2. SmolLM-135M-shaped decoder step (L=30 C=576 NH=9 NKV=3 I=1536 V=49152, tied head; Q formats keep the head Q8_0), ${THREADS} threads`);
  console.log(`${'variant'.padEnd(32)}${'MB/token'.padStart(10)}${work.map(([n]) => `${n} tok/s`.padStart(26)).join('')}`);
  VARIANTS.forEach((v, i) => {
    const cells = rows.map((r) => `${r[i].toFixed(1).padStart(10)} (${(r[i] / r[0]).toFixed(2)}x f32)`.padStart(26));
    console.log(`${v.name.padEnd(32)}${(stepBytes(v.format, c) / 1e6).toFixed(0).padStart(10)}${cells.join('')}`);
  });
  await Promise.all(backends.map((b) => b.dispose()));
}

async function main(): Promise<void> {
  console.log(`quantized kernels bench; load average at start: ${load()} (the machine is shared: compare ratios, not absolute rates)`);
  await kernelTable();
  await stepTable();
  console.log(`\nload average at end: ${load()}`);
}

main().catch((e) => {
  process.stderr.write(`quant bench failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
