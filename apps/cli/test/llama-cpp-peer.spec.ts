/*
 * llama.cpp computes, from the GGUF files our writer produces, the function our forward does:
 *  - models/default through `llm quantize --format f32 --gguf`: llama.cpp's logits equal
 *    `llm forward` on that file and on the original directory within 1e-4 at every position of a
 *    24-token prompt (both sides are F32 throughout: only summation order differs, ~1e-6).
 *  - the same model through `--format f16`: F16 matrices. llama.cpp's CPU matmul converts the
 *    activations to F16 before an F16 dot product (ggml-cpu's type traits: F16's vec_dot_type
 *    is F16, from_float rounds f32 -> f16), which our forward does not. The tolerance is derived
 *    from a perturbation of the same kind that we can compute ourselves: rounding every weight to
 *    F16 perturbs each product w*x by a relative <= 2^-11, exactly as rounding every activation
 *    does, so the weight rounding's effect on the logits (our forward, F32 vs F16-rounded weights)
 *    sizes the activation rounding's; the bound is 4x that (margin for the different sums it hits).
 *  - small random models of each architecture the writer supports, F32: llama (untied and tied
 *    head; a SentencePiece vocabulary: the fixture with its 256 byte pieces, without which llama.cpp
 *    aborts), qwen2 (q/k/v biases), mistral, mixtral (4 experts, top-2)
 *    within 1e-4 of our forward at every position; initializer_range 0.2 so that the logits spread
 *    over several units and a wrong tensor layout (say, RoPE rows) shows.
 * Skipped, with one line, when llama.cpp is not installed (LLM_LLAMA_CPP, see support/llama-cpp).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTokenizerJson, initRandomModel, loadModelDir, roundTripDtype, saveGguf, Transformer, type ModelConfig, type ModelWeights } from '@llm/model';
import { spmFixtureWithBytes } from '@llm/model/testing';
import { loadTokenizerJson } from '@llm/tokenizer';
import { llm } from './support/llm';
import { argmaxes, describeLlamaCpp, llamaLogits, maxAbsDiff, spread } from './support/llama-cpp';

jest.setTimeout(120_000);

const root = join(__dirname, '..', '..', '..');
const DEFAULT = join(root, 'models', 'default');
const PROMPT = 'Q: 17 + 25?\nA: 42\nQ: 3+9'; // 24 byte-level tokens
const tmp = mkdtempSync(join(tmpdir(), 'llama-cpp-peer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Our reference forward's logits, one row per position. */
async function ours(config: ModelConfig, weights: ModelWeights, tokens: number[]): Promise<Float32Array[]> {
  const flat = await new Transformer(config, weights).forward(tokens);
  const V = config.vocabSize;
  return tokens.map((_, t) => flat.subarray(t * V, (t + 1) * V));
}

async function llmForward(model: string, tokens: number[]): Promise<number[][]> {
  const r = await llm('forward', '--model', model, '--tokens', tokens.join(','), '--json');
  expect(r.err).toBeNull();
  return JSON.parse(r.out).logits;
}

describeLlamaCpp('llama-cpp-peer.spec')('llama.cpp on our GGUF files: logits', () => {
  const tokens = loadTokenizerJson(readFileSync(join(DEFAULT, 'tokenizer.json'), 'utf8')).encode(PROMPT);

  it('models/default as F32 GGUF (llm quantize --format f32): llama.cpp = llm forward on the file and on the directory, within 1e-4', async () => {
    expect(tokens).toHaveLength(24);
    const gguf = join(tmp, 'default-f32.gguf');
    expect((await llm('quantize', '--model', DEFAULT, '--format', 'f32', '--gguf', gguf)).err).toBeNull();
    const peer = await llamaLogits(gguf, tokens);
    const fromFile = await llmForward(gguf, tokens);
    const fromDir = await llmForward(DEFAULT, tokens);
    expect(spread(fromDir)).toBeGreaterThan(5);
    process.stderr.write(`llama-cpp-peer: models/default F32: max |llama.cpp - ours| ${maxAbsDiff(peer, fromDir).toExponential(2)} over logits spread ${spread(fromDir).toFixed(2)}\n`);
    expect(maxAbsDiff(peer, fromFile)).toBeLessThan(1e-4);
    expect(maxAbsDiff(peer, fromDir)).toBeLessThan(1e-4);
  });

  it('models/default as F16 GGUF: within 4x the effect of F16 weight rounding (llama.cpp also rounds activations to F16)', async () => {
    const gguf = join(tmp, 'default-f16.gguf');
    expect((await llm('quantize', '--model', DEFAULT, '--format', 'f16', '--gguf', gguf)).err).toBeNull();
    const src = await loadModelDir(DEFAULT);
    const rounded: ModelWeights = {};
    for (const [n, w] of Object.entries(src.weights)) rounded[n] = w.shape.length > 1 ? { shape: w.shape, data: roundTripDtype(w.data, 'F16') } : w;
    const exact = await ours(src.config, src.weights, tokens);
    const f16 = await ours(src.config, rounded, tokens);
    expect(maxAbsDiff(await llmForward(gguf, tokens), f16)).toBe(0); // our reader: the file holds exactly the F16 rounding
    const weightEffect = maxAbsDiff(f16, exact);
    const peer = await llamaLogits(gguf, tokens);
    const dev = maxAbsDiff(peer, f16);
    process.stderr.write(`llama-cpp-peer: F16 file: llama.cpp vs ours ${dev.toExponential(2)}, F16 weight-rounding effect ${weightEffect.toExponential(2)}\n`);
    expect(weightEffect).toBeGreaterThan(1e-4); // the rounding is visible at this scale
    expect(dev).toBeLessThan(4 * weightEffect);
    expect(argmaxes(peer)).toEqual(argmaxes(f16));
  });

  const CASES: Array<[string, 'llama' | 'qwen2' | 'mixtral', Record<string, unknown>, 'gpt2' | 'spm']> = [
    ['llama, untied head, GQA, SentencePiece vocabulary', 'llama', {}, 'spm'],
    ['llama, tied head', 'llama', { tie_word_embeddings: true }, 'gpt2'],
    ['qwen2 (q/k/v biases, tied head)', 'qwen2', {}, 'gpt2'],
    ['mistral (sliding window, written as llama)', 'llama', { architectures: ['MistralForCausalLM'], model_type: 'mistral', sliding_window: 256 }, 'spm'],
    ['mixtral (4 experts, top-2)', 'mixtral', { num_local_experts: 4, num_experts_per_tok: 2 }, 'gpt2'],
  ];

  it.each(CASES)('random %s, F32: llama.cpp = our forward within 1e-4 at every position', async (name, arch, overrides, vocab) => {
    const { config, weights } = initRandomModel(arch, { ...overrides, initializer_range: 0.2, bos_token_id: 1, eos_token_id: 2 }, 11);
    const path = join(tmp, `${name.replace(/\W+/g, '-')}.gguf`);
    saveGguf(path, { config, weights }, { tokenizerJson: vocab === 'gpt2' ? buildTokenizerJson(config.vocabSize, 1) : spmFixtureWithBytes() });
    const ids = Array.from({ length: 20 }, (_, i) => (i * 97 + 13) % config.vocabSize);
    const want = await ours(config, weights, ids);
    const peer = await llamaLogits(path, ids);
    const dev = maxAbsDiff(peer, want);
    process.stderr.write(`llama-cpp-peer: random ${name}: max |llama.cpp - ours| ${dev.toExponential(2)} over logits spread ${spread(want).toFixed(2)}\n`);
    expect(spread(want)).toBeGreaterThan(2);
    expect(dev).toBeLessThan(1e-4);
  });
});
