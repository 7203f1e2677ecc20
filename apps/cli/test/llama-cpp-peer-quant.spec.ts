/*
 * llama.cpp reads our Q8_0 / Q4_0 blocks as we laid them out. llama.cpp's CPU matmul on a Q8_0 or
 * Q4_0 weight first quantizes the activations to Q8_0 (blocks of 32, scale max|x|/127), so its
 * logits on our quantized file cannot equal ours (activations F32). The reference is therefore
 * llama.cpp itself on an F32 file holding exactly our dequantized weights: the only difference
 * between the two runs is the activation rounding.
 *
 * The bound: rounding the activations to Q8_0 perturbs each product w*x within a block of 32 by
 * at most max|x|/254 -- the same relative perturbation that rounding the *weights* to Q8_0 (same
 * blocks, same scale rule) causes on the other factor. So the effect on the logits of rounding
 * every quantized matmul's weights to Q8_0, computed with our own forward (F32 weights against
 * their Q8_0 round trip), sizes the activation rounding's effect; the bound is 3x that. Measured
 * on models/default (printed): llama.cpp's deviation is a fraction of it.
 *
 * The check can fail: the same files with the blocks mis-laid -- Q4_0 with the two nibbles of
 * every byte swapped (weights j and j+16 of each block exchanged: the classic interleave bug,
 * same values, wrong places), Q8_0 with the scale read from the block's end (the 34 bytes rotated
 * by 2) -- go past the bound by a wide margin (asserted: 5x). Greedy argmax agrees at every
 * position of the correct files.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelDir, openGguf, quantizeModelWeights, saveGguf, Transformer, type ModelConfig, type ModelWeights, type QuantFormat } from '@llm/model';
import { argmaxes, describeLlamaCpp, llamaLogits, maxAbsDiff } from './support/llama-cpp';

jest.setTimeout(120_000);

const DEFAULT = join(__dirname, '..', '..', '..', 'models', 'default');
const TOKENS = [81, 58, 32, 49, 55, 32, 43, 32, 50, 53, 63, 10, 65, 58, 32, 52, 50, 10, 81, 58, 32, 51, 43, 57];
const tmp = mkdtempSync(join(tmpdir(), 'llama-cpp-peer-quant-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function ours(config: ModelConfig, weights: ModelWeights): Promise<Float32Array[]> {
  const flat = await new Transformer(config, weights).forward(TOKENS);
  const V = config.vocabSize;
  return TOKENS.map((_, t) => flat.subarray(t * V, (t + 1) * V));
}

/** The weights with every quantized tensor replaced by a plain F32 weight of its dequantized values. */
function dequantized(w: ModelWeights): ModelWeights {
  return Object.fromEntries(Object.entries(w).map(([n, x]) => [n, x.quant ? { shape: [...x.shape], data: Float32Array.from(x.data) } : x]));
}

/** Rewrites, in place, every `type` tensor's blocks of the file with `mutate(block)`. */
function mutateBlocks(path: string, type: 'Q8_0' | 'Q4_0', mutate: (block: Uint8Array) => void): number {
  const f = openGguf(path);
  const targets = [...f.tensors.values()].filter((t) => t.type.name === type);
  f.close();
  const fd = openSync(path, 'r+');
  try {
    for (const t of targets) {
      const bytes = new Uint8Array(t.nbytes);
      readSync(fd, bytes, 0, t.nbytes, t.offset);
      for (let b = 0; b < t.nbytes; b += t.type.typeSize) mutate(bytes.subarray(b, b + t.type.typeSize));
      writeSync(fd, bytes, 0, t.nbytes, t.offset);
    }
  } finally {
    closeSync(fd);
  }
  return targets.length;
}

const swapNibbles = (block: Uint8Array) => {
  for (let j = 2; j < 18; j++) block[j] = ((block[j] & 0x0f) << 4) | (block[j] >> 4);
};
const scaleAtEnd = (block: Uint8Array) => block.set(Uint8Array.from([...block.subarray(2), block[0], block[1]]));

describeLlamaCpp('llama-cpp-peer-quant.spec')('llama.cpp on our Q8_0 / Q4_0 GGUF files', () => {
  let model: Awaited<ReturnType<typeof loadModelDir>>;
  let bound = 0;
  beforeAll(async () => {
    model = await loadModelDir(DEFAULT);
    const q8 = dequantized(quantizeModelWeights(model.config, model.weights, { format: 'q8_0' }));
    bound = 3 * maxAbsDiff(await ours(model.config, q8), await ours(model.config, model.weights));
  });

  it.each([['q8_0', 'Q8_0', scaleAtEnd, 'the Q8_0 scale read from the block end'], ['q4_0', 'Q4_0', swapNibbles, 'the Q4_0 nibbles swapped']] as const)(
    '%s: llama.cpp on our blocks = llama.cpp on our dequantized F32 weights, within the activation-rounding bound; %s... mis-laid blocks fail it',
    async (format, type, mutate, what) => {
      const weights = quantizeModelWeights(model.config, model.weights, { format: format as QuantFormat });
      const qPath = join(tmp, `${format}.gguf`), dPath = join(tmp, `${format}-dequantized.gguf`), badPath = join(tmp, `${format}-mislaid.gguf`);
      const opts = { tokenizerJson: JSON.parse(readFileSync(join(DEFAULT, 'tokenizer.json'), 'utf8')) }; // node-llama-cpp cannot load a file without a vocabulary
      saveGguf(qPath, { config: model.config, weights }, opts);
      saveGguf(dPath, { config: model.config, weights: dequantized(weights) }, opts);
      saveGguf(badPath, { config: model.config, weights }, opts);
      expect(mutateBlocks(badPath, type, mutate)).toBe(2 * 7 + (type === 'Q8_0' ? 1 : 0)); // 7 linear layers x 2 layers (+ the Q8_0 head)
      const [onBlocks, onF32, onMislaid] = [await llamaLogits(qPath, TOKENS), await llamaLogits(dPath, TOKENS), await llamaLogits(badPath, TOKENS)];
      const reference = await ours(model.config, dequantized(weights));
      expect(maxAbsDiff(onF32, reference)).toBeLessThan(1e-4); // the F32 file is our dequantized model, as llama.cpp computes it
      const dev = maxAbsDiff(onBlocks, onF32), bad = maxAbsDiff(onMislaid, onF32);
      process.stderr.write(`llama-cpp-peer-quant: ${type}: llama.cpp blocks vs F32 ${dev.toFixed(4)}, bound ${bound.toFixed(4)}, ${what} ${bad.toFixed(4)}\n`);
      expect(dev).toBeLessThan(bound);
      expect(bad).toBeGreaterThan(5 * bound);
      expect(argmaxes(onBlocks)).toEqual(argmaxes(onF32));
    },
  );
});
