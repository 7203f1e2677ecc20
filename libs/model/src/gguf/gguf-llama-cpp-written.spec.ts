/*
 * The reader and the quantizers against a file llama.cpp itself wrote (fixtures/README.md says
 * how): every tensor of fixtures/llama-quantize-mixed.gguf, one of each type the loader reads
 * (Q4_K, Q5_K, Q6_K, Q4_1, Q5_0, Q5_1, Q8_0, Q4_0, F16, F32), must dequantize to exactly the
 * float32 values ggml's own to_float gives (their SHA-256 below, computed with llama.cpp's
 * libggml-base); and our Q8_0 / Q4_0 quantizers, run on the same F32 source (regenerated here from
 * its seed), must write the very bytes llama.cpp's quantizer wrote.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { initRandomModel } from '../init-random';
import { loadModelDir } from '../io';
import { quantizeMatrix } from '../quant/quantized-matrix';
import { openGguf } from './reader';
import { readWeight } from './tensor-data';

const FIXTURE = join(__dirname, 'fixtures', 'llama-quantize-mixed.gguf');

/** name -> [type, element count, SHA-256 of ggml's to_float output (float32 LE), its first three values] */
const GGML_TO_FLOAT: Record<string, [string, number, string, number[]]> = {
  'blk.0.attn_q.weight': ['Q4_K', 65536, '0b8a2e3c8aff3b307230c0df4cd477d6e3e503fea05bc3c47eb070c457919451', [-0.017468929290771484, -0.017468929290771484, -0.017468929290771484]],
  'blk.0.attn_k.weight': ['Q5_K', 32768, 'de0cf4d8ad79e0ed909cd0304bfe0e9f4905c47393f70d15612f8ac149167ebf', [0.020490407943725586, -0.008557558059692383, 0.0035457611083984375]],
  'blk.0.attn_v.weight': ['Q6_K', 32768, 'b5697da80f798507afcbf58c92c8ee7dd8fcf2692f882381adcf8fcac0068f8e', [0.005767822265625, 0.013458251953125, 0.01153564453125]],
  'blk.0.attn_output.weight': ['Q4_1', 65536, 'f3b07b138b2c8f080d4c73a772edd1b66ae27afc404003c6aeabcd7ee425d266', [0.02277374267578125, 0.00009918212890625, -0.01690673828125]],
  'blk.0.ffn_gate.weight': ['Q5_0', 65536, '151df667e05450b177712a72fff376c9855ed597d13431a523d2d015e8a23806', [0.01628875732421875, 0, -0.00698089599609375]],
  'blk.0.ffn_up.weight': ['Q5_1', 65536, 'afcdb0baf17e7e52b29861e9ccbbd0ab4df725b9c92a357549fa47b63731a02c', [0.028289794921875, -0.010589599609375, -0.001617431640625]],
  'blk.0.ffn_down.weight': ['Q8_0', 65536, '89b96905e364562e7e51d31b8ea1478d5040b505d87fe702024f7c3a5ed8c063', [-0.0216827392578125, -0.0006775856018066406, -0.03286290168762207]],
  'output.weight': ['Q4_0', 66560, '4b3045b73b4eada3afc49bc5754f214a9d370e50b1320829b6701b45f1a5dd2b', [-0.014568328857421875, -0.00971221923828125, -0.00971221923828125]],
  'token_embd.weight': ['F16', 66560, '9fc6aafefef6abb6e0a6bce2b51a182c9fe4c3dc7ed79e988fc9edea171714e4', [-0.0250701904296875, 0.0221099853515625, -0.006237030029296875]],
  'blk.0.attn_norm.weight': ['F32', 256, '191e81cf5dbe893ea1604dfe224e719f487ad91e0c184e6eeb9038696b37e591', [1.0334142446517944, 0.9934497475624084, 1.0514099597930908]],
  'blk.0.ffn_norm.weight': ['F32', 256, '9fee040dd6d0a2d71976bf26ddb96d892e9fc4fa3633fb8ba82623dcec8507c4', [1.0026216506958008, 1.1007564067840576, 1.006061315536499]],
  'output_norm.weight': ['F32', 256, '4b290ebc9da4fa2ebaa998708eeb38abeed7f49c46d34c369058db8aa5191498', [0.91370689868927, 0.9237024784088135, 0.9021269083023071]],
};

const sha256 = (a: Float32Array) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

describe('a GGUF file written by llama.cpp (llama-quantize)', () => {
  const file = openGguf(FIXTURE);
  afterAll(() => file.close());

  it('holds exactly the tensors and types llama-quantize reported', () => {
    expect(Object.fromEntries([...file.tensors.values()].map((t) => [t.name, t.type.name]))).toEqual(Object.fromEntries(Object.entries(GGML_TO_FLOAT).map(([n, [type]]) => [n, type])));
  });

  it.each(Object.entries(GGML_TO_FLOAT))('%s dequantizes to exactly the values ggml gives', (name, [, count, hash, first]) => {
    const w = readWeight(file, file.tensors.get(name)!);
    const data = w.data as Float32Array;
    expect(data.length).toBe(count);
    expect(Array.from(data.subarray(0, 3))).toEqual(first);
    expect(sha256(data)).toBe(hash);
  });

  it('loads as a model: the config from the metadata llama.cpp copied', async () => {
    const m = await loadModelDir(FIXTURE);
    expect([m.config.hiddenSize, m.config.numLayers, m.config.numHeads, m.config.numKvHeads, m.config.intermediateSize, m.config.vocabSize]).toEqual([256, 1, 4, 2, 256, 260]);
  });

  it('--quantize q8_0 on this mixed file keeps its Q8_0 / Q4_0 blocks and quantizes only what it read as f32', async () => {
    const plain = await loadModelDir(FIXTURE);
    const q = await loadModelDir(FIXTURE, { quantize: 'q8_0' });
    const down = 'model.layers.0.mlp.down_proj.weight'; // Q8_0 in the file
    const head = 'lm_head.weight'; // Q4_0 in the file
    const qproj = 'model.layers.0.self_attn.q_proj.weight'; // Q4_K in the file: read as f32
    expect([q.weights[down].quant?.format, q.weights[head].quant?.format, plain.weights[qproj].quant]).toEqual(['q8_0', 'q4_0', undefined]);
    expect(Buffer.from(q.weights[down].quant!.data).equals(Buffer.from(plain.weights[down].quant!.data))).toBe(true);
    expect(Buffer.from(q.weights[head].quant!.data).equals(Buffer.from(plain.weights[head].quant!.data))).toBe(true);
    const want = quantizeMatrix(plain.weights[qproj].data as Float32Array, 256, 256, 'q8_0');
    expect(q.weights[qproj].quant?.format).toBe('q8_0');
    expect(Buffer.from(q.weights[qproj].quant!.data).equals(Buffer.from(want.data))).toBe(true);
    expect(q.weights['model.embed_tokens.weight'].quant).toBeUndefined(); // embeddings stay f32 (F16 in the file)
  });
});

describe('our quantizers against llama.cpp\'s, on the fixture\'s F32 source', () => {
  // The source weights are regenerated from the seed the fixture was made with (fixtures/README.md);
  // if initRandomModel's generator ever changes, these two tests say so by failing on every byte.
  const { weights } = initRandomModel('llama', {
    hidden_size: 256, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 256, vocab_size: 260,
    tie_word_embeddings: false, eos_token_id: 259, bos_token_id: 258,
  }, 20);
  const file = openGguf(FIXTURE);
  afterAll(() => file.close());

  it.each([
    ['Q8_0', 'model.layers.0.mlp.down_proj.weight', 'blk.0.ffn_down.weight'],
    ['Q4_0', 'lm_head.weight', 'output.weight'],
  ] as const)('%s: the bytes of %s equal llama-quantize\'s %s', (format, ours, theirs) => {
    const w = weights[ours];
    const q = quantizeMatrix(w.data as Float32Array, w.shape[0], w.shape[1], format === 'Q8_0' ? 'q8_0' : 'q4_0');
    const t = file.tensors.get(theirs)!;
    expect(Buffer.from(q.data).equals(Buffer.from(file.readTensor(t)))).toBe(true);
  });
});
