/*
 * Plain F16 conversion (`llm quantize --format f16`): the binary16 encoding worked by hand (round
 * to nearest even at a normal tie, subnormals and their ties, the largest finite value, the first
 * value that rounds to inf), which tensors a GGUF file stores as F16 -- those llama.cpp's
 * converter does under --outtype f16: every matrix *.weight except the MoE router; norms, biases
 * and rope_freqs stay F32 -- the round trip through the reader (matrices equal their F16
 * rounding, the rest exact), and the refusal, naming the tensor, of a weight past F16's range,
 * in a GGUF file and in a model directory alike, with no half-written file left.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRandomModel } from '../init-random';
import { f16Encode, roundTripDtype } from '../io/dtype';
import { loadModelDir, saveModelDir } from '../io/model-dir';
import type { ModelWeights } from '../weights';
import { openGguf } from './reader';
import { saveGguf } from './save-gguf';

const tmp = mkdtempSync(join(tmpdir(), 'gguf-f16-'));
const bits = (x: number) => {
  const b = f16Encode(Float32Array.of(x), 't');
  return b[0] | (b[1] << 8);
};

describe('F16 encoding, worked by hand', () => {
  it('normals: exact values, ties to even, the largest finite value', () => {
    expect(bits(1)).toBe(0x3c00); // 0 01111 0000000000
    expect(bits(-2)).toBe(0xc000);
    expect(bits(0.333251953125)).toBe(0x3555); // 1.0101010101b x 2^-2, exactly representable
    expect(bits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and 1 + 2^-10: the even one, 1
    expect(bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway between 0x3c01 and 0x3c02: the even 0x3c02
    expect(bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just past the tie: up
    expect(bits(65504)).toBe(0x7bff); // 1.1111111111b x 2^15
    expect(bits(65519.99)).toBe(0x7bff); // below the tie with 2^16: rounds down to the largest finite value
  });

  it('subnormals: 2^-24 steps, ties to even, a carry into the smallest normal, signed zero', () => {
    expect(bits(2 ** -24)).toBe(0x0001);
    expect(bits(2 ** -25)).toBe(0x0000); // halfway between 0 and 2^-24: the even 0
    expect(bits(3 * 2 ** -25)).toBe(0x0002); // halfway between 1 and 2 units: the even 2
    expect(bits(5 * 2 ** -24)).toBe(0x0005);
    expect(bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // halfway between 0x3ff units and 2^-14: even = smallest normal
    expect(bits(-(2 ** -30))).toBe(0x8000); // underflows to -0
  });

  it('little-endian bytes; past the range or not finite is an error naming the tensor and element', () => {
    expect(Array.from(f16Encode(Float32Array.of(1, -2), 'x'))).toEqual([0x00, 0x3c, 0x00, 0xc0]);
    expect(() => f16Encode(Float32Array.of(0, 65520), 'blk.0.attn_q.weight')).toThrow(
      'tensor "blk.0.attn_q.weight" cannot be stored as F16: element 1 is 65520, beyond F16\'s range (|x| <= 65504); keep it in F32 (--format f32)',
    );
    expect(() => f16Encode(Float32Array.of(-1e6), 'w')).toThrow('element 0 is -1000000, beyond');
    expect(() => f16Encode(Float32Array.of(NaN), 'w')).toThrow('element 0 is NaN, not finite');
  });
});

function save(arch: 'llama' | 'qwen2' | 'mixtral', weights?: (w: ModelWeights) => void) {
  const m = initRandomModel(arch, { initializer_range: 0.5 }, 4);
  weights?.(m.weights);
  const path = join(mkdtempSync(join(tmp, `${arch}-`)), 'm.gguf');
  saveGguf(path, m, { floatType: 'f16' });
  return { ...m, path };
}

describe('saveGguf with floatType f16', () => {
  it.each(['llama', 'qwen2', 'mixtral'] as const)('%s: matrices F16, norms / biases / router F32, file type MOSTLY_F16', (arch) => {
    const { path } = save(arch);
    const f = openGguf(path);
    try {
      expect(f.metadata.get('general.file_type')?.value).toBe(1);
      const types = new Map([...f.tensors.values()].map((t) => [t.name, t.type.name]));
      for (const [name, type] of types) {
        const f32 = name.endsWith('_norm.weight') || name.endsWith('.bias') || name.includes('ffn_gate_inp');
        expect([name, type]).toEqual([name, f32 ? 'F32' : 'F16']);
      }
      expect(types.get('token_embd.weight')).toBe('F16');
      if (arch === 'qwen2') expect(types.get('blk.0.attn_q.bias')).toBe('F32');
      if (arch === 'mixtral') expect([types.get('blk.1.ffn_gate_inp.weight'), types.get('blk.1.ffn_down_exps.weight')]).toEqual(['F32', 'F16']);
    } finally {
      f.close();
    }
  });

  it.each(['llama', 'qwen2', 'mixtral'] as const)('%s: reads back as the F16 rounding of every matrix and the exact F32 of the rest', async (arch) => {
    const { weights, path } = save(arch);
    const back = await loadModelDir(path);
    let rounded = 0;
    for (const [name, w] of Object.entries(weights)) {
      const keepsF32 = w.shape.length === 1 || name.endsWith('block_sparse_moe.gate.weight');
      const want = keepsF32 ? w.data : roundTripDtype(w.data, 'F16');
      expect([name, Array.from(back.weights[name].data)]).toEqual([name, Array.from(want)]);
      if (!keepsF32 && want.some((v, i) => v !== w.data[i])) rounded++;
    }
    expect(rounded).toBeGreaterThan(5); // the rounding did happen (the comparison is not f32 against f32)
  });

  it('a weight past F16 range: an error naming the GGUF tensor; no file left behind', () => {
    const path = join(tmp, 'overflow.gguf');
    const m = initRandomModel('llama', {}, 4);
    m.weights['model.layers.1.mlp.up_proj.weight'].data[7] = 7e4;
    expect(() => saveGguf(path, m, { floatType: 'f16' })).toThrow('tensor "blk.1.ffn_up.weight" cannot be stored as F16: element 7 is 70000');
    expect(existsSync(path)).toBe(false);
  });
});

describe('a model directory saved as F16', () => {
  it('round trip: every tensor is its F16 rounding (norms too, as a float16 checkpoint holds them)', async () => {
    const m = initRandomModel('qwen2', { initializer_range: 0.5 }, 2);
    const dir = join(tmp, 'dir16');
    saveModelDir(dir, m.config, m.weights, { dtype: 'F16' });
    const back = await loadModelDir(dir);
    for (const [name, w] of Object.entries(m.weights)) expect([name, Array.from(back.weights[name].data)]).toEqual([name, Array.from(roundTripDtype(w.data, 'F16'))]);
  });

  it('a weight past F16 range: an error naming the checkpoint tensor, before any file is written', () => {
    const m = initRandomModel('llama', {}, 2);
    m.weights['model.norm.weight'].data[3] = -1e5;
    const dir = join(tmp, 'dir16-overflow');
    expect(() => saveModelDir(dir, m.config, m.weights, { dtype: 'F16' })).toThrow('tensor "model.norm.weight" cannot be stored as F16: element 3 is -100000');
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });
});
