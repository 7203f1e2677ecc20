/*
 * The wasm decoder against ONNX Runtime, a peer implementation: the same randomised serving
 * scenarios (prefill chunks, single-sequence decodes, mixed batches) through a plain OrtBackend
 * and through WasmDecodeBackend (ORT + the decoder), each on its own pool. F32 and Q/K/V-bias
 * models must give the same logits and pool contents to float rounding; Q8_0 / Q4_0 models must
 * equal ORT's MatMulNBits with accuracy level 4, which quantizes activations to int8 per block of
 * 32 as the decoder does, on both Q4_0 kernels (the int8 one on relaxed SIMD, which must also
 * equal the portable one bit for bit, and the portable one). Also: copy-on-write copies, a decoder that dies mid-run, and the models
 * the decoder refuses.
 */
import { initRandomModel } from '../init-random';
import { decoderFromLoaded, OrtBackend } from '../onnx';
import { maxAbsDiff, scenarioBatches, scenarioPool, type ScenarioOptions } from '../onnx/testing-scenario';
import { quantizeModelWeights } from '../quant/quantize-model';
import { createModelRunner } from '../runner/create-runner';
import type { FlatBatch, KvPool } from '../runner/types';
import { WasmDecodeBackend } from './backend';
import { WasmDecoder } from './decoder';
import { repackNibbles, wasmDecodeUnsupported } from './plan';

const SHAPE = { hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 96, num_hidden_layers: 2, vocab_size: 200, max_position_embeddings: 128 };
const NBITS4 = { kind: 'nbits', accuracyLevel: 4 } as const;

type Model = ReturnType<typeof initRandomModel>;

function modelOf(arch: 'llama' | 'qwen2', fmt: 'f32' | 'q8_0' | 'q4_0', seed = 3): Model {
  const m = initRandomModel(arch, SHAPE, seed);
  return fmt === 'f32' ? m : { config: m.config, weights: quantizeModelWeights(m.config, m.weights, { format: fmt }) };
}

async function pair(model: Model, relaxedSimd = true): Promise<{ ref: OrtBackend; wasm: WasmDecodeBackend; decoder: WasmDecoder }> {
  const ref = await OrtBackend.create(model, { threads: 1, offThread: true, quantKernel: NBITS4 });
  const inner = await OrtBackend.create(model, { threads: 1, offThread: true, quantKernel: NBITS4 });
  const { spec, weights } = decoderFromLoaded(model);
  const decoder = await WasmDecoder.create(spec, weights, 2, { relaxedSimd });
  return { ref, wasm: new WasmDecodeBackend(inner, decoder, weights.embed, { adaptive: false }), decoder };
}

function poolDiff(a: KvPool, b: KvPool): number {
  let d = 0;
  for (let l = 0; l < a.numLayers; l++) d = Math.max(d, maxAbsDiff(a.k[l], b.k[l]), maxAbsDiff(a.v[l], b.v[l]));
  return d;
}

const singleDecode = (b: FlatBatch) => b.seqs.length === 1 && b.seqs[0].numNewTokens === 1 && b.logitRows.length === 1;

describe('WasmDecodeBackend', () => {
  jest.setTimeout(60_000);

  it.each([
    ['llama', 'f32', ''],
    ['qwen2', 'f32', ''],
    ['llama', 'q8_0', ''],
    ['llama', 'q4_0', '(int8 kernel, relaxed SIMD)'],
    ['llama', 'q4_0', '(portable kernel)'],
  ] as const)('%s %s %s: the same logits and pool as ONNX Runtime through prefill, single decodes and mixed batches', async (arch, fmt, kernel) => {
    const model = modelOf(arch, fmt);
    const { ref, wasm, decoder } = await pair(model, kernel !== '(portable kernel)');
    // Node 20 runs relaxed SIMD behind a V8 flag the decoder sets, later engines ship it: int8 either way
    if (fmt === 'q4_0') expect(decoder.q4Kernel).toMatch(kernel === '(portable kernel)' ? /^portable/ : /^int8/);
    try {
      for (const numSeqs of [1, 2]) {
        const o: ScenarioOptions = { seed: 11 + numSeqs, numSeqs, maxPrompt: 9, steps: 24, vocabSize: 200, blockSize: 4, numBlocks: 48 };
        const batches = scenarioBatches(o);
        const pa = scenarioPool(o, 2, 2, 16), pb = scenarioPool(o, 2, 2, 16);
        const before = wasm.wasmSteps;
        let worst = 0, ortAfterWasm = 0;
        for (const b of batches) {
          const a = await ref.forward(b, pa);
          const c = await wasm.forward(b, pb);
          worst = Math.max(worst, maxAbsDiff(a, c));
          if (!singleDecode(b) && wasm.wasmSteps > before) ortAfterWasm++;
        }
        expect(wasm.wasmSteps - before).toBe(batches.filter(singleDecode).length);
        expect(wasm.wasmSteps - before).toBeGreaterThan(3);
        if (numSeqs === 2) expect(ortAfterWasm).toBeGreaterThan(0); // ORT steps read K/V the decoder wrote
        expect(worst).toBeLessThan(2e-5);
        expect(poolDiff(pa, pb)).toBeLessThan(2e-5);
      }
    } finally {
      await ref.dispose();
      await wasm.dispose();
    }
  });

  it('replays copy-on-write block copies: a forked sequence decodes on the copy', async () => {
    const model = modelOf('llama', 'f32', 5);
    const { ref, wasm } = await pair(model);
    const o: ScenarioOptions = { seed: 3, numSeqs: 1, maxPrompt: 6, steps: 14, vocabSize: 200, blockSize: 4, numBlocks: 48 }; // ends in single decodes: the last block's rows come from the decoder
    const pa = scenarioPool(o, 2, 2, 16), pb = scenarioPool(o, 2, 2, 16);
    try {
      const batches = scenarioBatches(o);
      for (const b of batches) {
        await ref.forward(b, pa);
        await wasm.forward(b, pb);
      }
      const last = batches[batches.length - 1];
      const table = last.seqs[0].blockTable;
      const ctx = last.seqs[0].contextLen;
      // fork: copy the last (partly filled) block to a free one and decode the next token there
      const [dst, spare] = Array.from({ length: 47 }, (_, i) => 47 - i).filter((b) => !table.includes(b));
      const src = table[table.length - 1];
      const copies = [{ src, dst }];
      for (const p of [pa, pb]) {
        const n = p.blockSize * p.numKvHeads * p.headDim;
        for (let l = 0; l < p.numLayers; l++) for (const a of [p.k[l], p.v[l]]) a.copyWithin(dst * n, src * n, (src + 1) * n);
      }
      await ref.applyBlockCopies?.(pa, copies);
      await wasm.applyBlockCopies(pb, copies);
      const forked = Int32Array.from(table);
      forked[forked.length - 1] = dst;
      const slot = dst * 4 + (ctx % 4);
      const step: FlatBatch = { tokenIds: Int32Array.of(17), positions: Int32Array.of(ctx), slotMapping: Int32Array.of(slot), seqs: [{ start: 0, numNewTokens: 1, contextLen: ctx + 1, blockTable: ctx % 4 === 0 ? Int32Array.from([...forked, spare]) : forked }], logitRows: Int32Array.of(0) };
      if (ctx % 4 === 0) step.slotMapping[0] = spare * 4;
      const steps = wasm.wasmSteps;
      expect(maxAbsDiff(await ref.forward(step, pa), await wasm.forward(step, pb))).toBeLessThan(2e-5);
      expect(wasm.wasmSteps).toBe(steps + 1);
      // two more tokens of the fork in one step, so on ORT's threads: they read the copied block,
      // whose rows the decoder wrote before the copy (the threads must get them before copying)
      const table2 = Int32Array.from([...forked, spare]);
      const slotOf = (p: number) => table2[Math.floor(p / 4)] * 4 + (p % 4);
      const two: FlatBatch = { tokenIds: Int32Array.of(5, 9), positions: Int32Array.of(ctx + 1, ctx + 2), slotMapping: Int32Array.of(slotOf(ctx + 1), slotOf(ctx + 2)), seqs: [{ start: 0, numNewTokens: 2, contextLen: ctx + 3, blockTable: table2 }], logitRows: Int32Array.of(1) };
      expect(slotOf(ctx)).toBe(step.slotMapping[0]); // the same table as the step before
      expect(maxAbsDiff(await ref.forward(two, pa), await wasm.forward(two, pb))).toBeLessThan(2e-5);
      expect(wasm.wasmSteps).toBe(steps + 1);
    } finally {
      await ref.dispose();
      await wasm.dispose();
    }
  });

  it('a decoder that dies hands its step to ONNX Runtime and the run goes on unchanged', async () => {
    const model = modelOf('llama', 'q8_0', 9);
    const { ref, wasm, decoder } = await pair(model);
    const o: ScenarioOptions = { seed: 21, numSeqs: 1, maxPrompt: 5, steps: 12, vocabSize: 200, blockSize: 4, numBlocks: 48 };
    const pa = scenarioPool(o, 2, 2, 16), pb = scenarioPool(o, 2, 2, 16);
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const batches = scenarioBatches(o);
      let worst = 0;
      for (const [i, b] of batches.entries()) {
        if (i === 5) await decoder.close(); // its threads are gone from here on
        worst = Math.max(worst, maxAbsDiff(await ref.forward(b, pa), await wasm.forward(b, pb)));
      }
      expect(worst).toBeLessThan(2e-5);
      expect(wasm.decoderOn).toBe(false);
      expect(write.mock.calls.some((c) => String(c[0]).includes('wasm decode off'))).toBe(true);
    } finally {
      write.mockRestore();
      await ref.dispose();
      await wasm.dispose();
    }
  });

  it('runs hundreds of steps back to back on more threads than cores, the same every time (barriers that sleep, counts that never reset)', async () => {
    const model = modelOf('llama', 'f32', 2);
    const { spec, weights } = decoderFromLoaded(model);
    const decoder = await WasmDecoder.create(spec, weights, 4);
    try {
      const pool = scenarioPool({ seed: 0, numSeqs: 1, maxPrompt: 1, steps: 1, vocabSize: 200, blockSize: 4, numBlocks: 40 }, 2, 2, 16);
      decoder.bind(pool);
      const table = Int32Array.from({ length: 25 }, (_, i) => 39 - i);
      const laps: Float32Array[] = [];
      for (let lap = 0; lap < 4; lap++) {
        let last: Float32Array = new Float32Array(0);
        for (let pos = 0; pos < 100; pos++) {
          const token = (pos * 7) % 200; // every lap decodes the same sequence from position 0
          last = await decoder.step(weights.embed.subarray(token * 64, (token + 1) * 64), pos, table[pos >> 2] * 4 + (pos & 3), table);
        }
        laps.push(last);
      }
      expect(laps[0].every(Number.isFinite)).toBe(true);
      for (const l of laps.slice(1)) expect(Array.from(l)).toEqual(Array.from(laps[0]));
    } finally {
      await decoder.close();
    }
  });

  it('Q4_0 on the int8 kernel (relaxed SIMD) gives the portable kernel\'s logits bit for bit', async () => {
    const model = modelOf('llama', 'q4_0', 5);
    const { spec, weights } = decoderFromLoaded(model);
    const [int8, portable] = await Promise.all([WasmDecoder.create(spec, weights, 2), WasmDecoder.create(spec, weights, 2, { relaxedSimd: false })]);
    try {
      expect(int8.plan.layers[0].qkv.fmt).toBe(3);
      expect(portable.plan.layers[0].qkv.fmt).toBe(2);
      const o = { seed: 0, numSeqs: 1, maxPrompt: 1, steps: 1, vocabSize: 200, blockSize: 4, numBlocks: 16 };
      int8.bind(scenarioPool(o, 2, 2, 16));
      portable.bind(scenarioPool(o, 2, 2, 16));
      const table = Int32Array.from({ length: 16 }, (_, i) => 15 - i);
      for (let pos = 0; pos < 40; pos++) {
        const token = (pos * 13 + 5) % 200;
        const x = weights.embed.subarray(token * 64, (token + 1) * 64);
        const slot = table[pos >> 2] * 4 + (pos & 3);
        const a = await int8.step(x, pos, slot, table);
        const b = await portable.step(x, pos, slot, table);
        expect(Array.from(a)).toEqual(Array.from(b));
      }
    } finally {
      await Promise.all([int8.close(), portable.close()]);
    }
  });

  it('a decoder slowed by a busy machine hands single-stream steps to ONNX Runtime, and takes them back when it recovers; logits unchanged', async () => {
    const model = modelOf('llama', 'f32', 4);
    const ref = await OrtBackend.create(model, { threads: 1, offThread: true });
    const inner = await OrtBackend.create(model, { threads: 1, offThread: true });
    const { spec, weights } = decoderFromLoaded(model);
    const decoder = await WasmDecoder.create(spec, weights, 2);
    // step times on a clock of the test's own, so the machine's real load cannot change the story:
    // a decoder step takes 5 ms, 45 while `busy` (a neighbour holding its cores); an ORT call 10
    let clock = 0, busy = false;
    const wasm = new WasmDecodeBackend(inner, decoder, weights.embed, { choice: { probeEvery: 4, probes: 3, window: 4 }, now: () => clock });
    const step = decoder.step.bind(decoder);
    decoder.step = async (...a) => {
      const out = await step(...a);
      clock += busy ? 45 : 5;
      return out;
    };
    const forward = inner.forward.bind(inner);
    inner.forward = async (...a) => {
      const out = await forward(...a);
      clock += 10;
      return out;
    };
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const o: ScenarioOptions = { seed: 21, numSeqs: 1, maxPrompt: 5, steps: 90, vocabSize: 200, blockSize: 4, numBlocks: 40 };
      const batches = scenarioBatches(o);
      const pa = scenarioPool(o, 2, 2, 16), pb = scenarioPool(o, 2, 2, 16);
      const kernels: string[] = [];
      let worst = 0;
      for (const [i, b] of batches.entries()) {
        busy = i >= 20 && i < 55;
        worst = Math.max(worst, maxAbsDiff(await ref.forward(b, pa), await wasm.forward(b, pb)));
        kernels.push(wasm.singleStreamKernel);
      }
      expect(worst).toBeLessThan(2e-5);
      expect(poolDiff(pa, pb)).toBeLessThan(2e-5);
      expect(wasm.switches.map((s) => `${s.from}->${s.to}`)).toEqual(['wasm->ort', 'ort->wasm']);
      expect(wasm.switches).toEqual([{ from: 'wasm', to: 'ort', fromMs: 45, toMs: 10 }, { from: 'ort', to: 'wasm', fromMs: 10, toMs: 5 }]);
      expect(kernels.slice(20, 55)).toContain('ort');
      expect(kernels[kernels.length - 1]).toBe('wasm');
      expect(wasm.ortSingleSteps).toBeGreaterThan(5);
      expect(stderr.mock.calls.map((c) => String(c[0])).filter((l) => /single-stream decode steps move to/.test(l))).toHaveLength(2);
    } finally {
      stderr.mockRestore();
      await ref.dispose();
      await wasm.dispose();
    }
  });

  it('refuses the models it cannot run, with the reason', () => {
    const gpt2 = decoderFromLoaded(initRandomModel('gpt2', { n_embd: 64, n_head: 4, n_layer: 1, vocab_size: 100, n_positions: 32 }));
    expect(wasmDecodeUnsupported(gpt2.spec, gpt2.weights)).toMatch(/architecture gpt2/);
    const moe = decoderFromLoaded(initRandomModel('mixtral', { ...SHAPE, num_local_experts: 4, num_experts_per_tok: 2 }));
    expect(wasmDecodeUnsupported(moe.spec, moe.weights)).toMatch(/mixture-of-experts/);
    const odd = decoderFromLoaded(initRandomModel('llama', { ...SHAPE, hidden_size: 48, num_attention_heads: 3, num_key_value_heads: 1 }));
    expect(wasmDecodeUnsupported(odd.spec, odd.weights)).toMatch(/hidden size 48/);
    expect(wasmDecodeUnsupported(decoderFromLoaded(modelOf('llama', 'q4_0')).spec, decoderFromLoaded(modelOf('llama', 'q4_0')).weights)).toBeUndefined();
  });

  it('createModelRunner takes the decoder off-thread unless --decode-kernel ort', async () => {
    const model = modelOf('llama', 'f32');
    const base = { backend: 'ort' as const, threads: 1, kvCacheBytes: 1 << 20, blockSize: 4, maxBatchSequences: 4, maxBatchTokens: 64, ortOnMainThread: false };
    const on = await createModelRunner(model, base);
    const off = await createModelRunner(model, { ...base, decodeKernel: 'ort' });
    const loop = await createModelRunner(model, { ...base, ortOnMainThread: true });
    try {
      expect(on.backend.name).toBe('ort+wasm');
      expect((on.backend as WasmDecodeBackend).holdsPool(on.pool)).toBe(true); // uploaded at load, not on the first step
      expect(off.backend.name).toBe('ort');
      expect(loop.backend.name).toBe('ort');
    } finally {
      for (const r of [on, off, loop]) await r.backend.dispose();
    }
  });

  it('repacks a Q4_0 block so 16-bit lane k holds columns k, 8 + k, 16 + k, 24 + k', () => {
    // ggml: byte j = column j (low nibble) | column j + 16 (high nibble); here column c has value c % 16
    const src = Uint8Array.from({ length: 16 }, (_, j) => (j % 16) | (((j + 16) % 16) << 4));
    const dst = new Uint8Array(16);
    repackNibbles(src, 0, dst, 0);
    // lane 0 = columns 0, 8, 16, 24 -> values 0, 8, 0, 8: bytes 0x80, 0x80; lane 3 = 3, 11, 3, 11: 0xb3, 0xb3
    expect([dst[0], dst[1]]).toEqual([0x80, 0x80]);
    expect([dst[6], dst[7]]).toEqual([0xb3, 0xb3]);
  });
});
