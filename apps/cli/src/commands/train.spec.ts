/** @jest-environment ../../libs/tensor/src/onnx/ort-test-environment.js */
/*
 * `llm train` and `llm convert-gqa` through the real command parser: a tiny run writes a
 * loadable model directory; bad input (unknown task, a corpus shorter than one window, an
 * existing --out, a resume with other flags, a NaN loss) is a one-line error and overwrites
 * nothing.
 */
import { loadModelDir } from '@llm/model';
import { toTokenizerJson, trainBpe } from '@llm/tokenizer';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../errors';
import { llm } from '../../test/support/llm';

const tmp = mkdtempSync(join(tmpdir(), 'cli-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


const tiny = ['--set', 'hidden_size=16', '--set', 'intermediate_size=32', '--set', 'num_attention_heads=4', '--set', 'num_key_value_heads=4', '--threads', '1'];

describe('llm train', () => {
  const dir = join(tmp, 'copy');

  it('trains a task model and writes a directory the model library loads', async () => {
    const { out, err } = await llm('train', '--arch', 'llama', '--task', 'copy2', '--steps', '20', '--batch-size', '8', '--eval', '20', '--out', dir, ...tiny);
    expect(err).toBeNull();
    expect(out).toMatch(/trained llama .* for 20 steps/);
    expect(out).toMatch(/exact match on 20 held-out examples: \d+\.\d%/);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'generation_config.json', 'checkpoint/checkpoint.json']) expect(existsSync(join(dir, f))).toBe(true);
    const m = await loadModelDir(dir);
    expect(m.config.hiddenSize).toBe(16);
    expect(m.generation.eosTokenIds).toEqual([0]);
  });

  it('resumes its checkpoint with the same flags, and refuses other flags without touching the directory', async () => {
    const before = readFileSync(join(dir, 'model.safetensors'));
    const other = await llm('train', '--arch', 'llama', '--task', 'copy2', '--steps', '30', '--batch-size', '8', '--out', dir, '--resume', ...tiny, '--set', 'hidden_size=24');
    expect(other.err).toBeInstanceOf(CliError);
    expect((other.err as Error).message).toMatch(/hidden_size=16, but the flags give hidden_size=24/);
    expect(readFileSync(join(dir, 'model.safetensors')).equals(before)).toBe(true);
    const again = await llm('train', '--arch', 'llama', '--task', 'copy2', '--steps', '30', '--batch-size', '8', '--eval', '10', '--out', dir, ...tiny);
    expect((again.err as Error).message).toMatch(/already exists and is not empty; pass --resume/);
    const resumed = await llm('train', '--arch', 'llama', '--task', 'copy2', '--steps', '30', '--batch-size', '8', '--eval', '10', '--out', dir, '--resume', ...tiny);
    expect(resumed.err).toBeNull();
    expect(resumed.out).toMatch(/for 30 steps/);
  });

  it('names an unknown task and lists the known ones', async () => {
    const { err } = await llm('train', '--arch', 'llama', '--task', 'juggle', '--steps', '5', '--out', join(tmp, 'x'));
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toMatch(/unknown task 'juggle' \(known: copy, reverse, sort, add, sum, dyck/);
    expect(existsSync(join(tmp, 'x'))).toBe(false);
  });

  it('trains on a corpus with a tokenizer.json, and rejects a corpus shorter than one window', async () => {
    const text = 'the cat sat on the mat. the dog sat on the log. '.repeat(40);
    const corpus = join(tmp, 'corpus.txt');
    const tokFile = join(tmp, 'tokenizer.json');
    writeFileSync(corpus, text);
    writeFileSync(tokFile, JSON.stringify(toTokenizerJson(trainBpe(text, { vocabSize: 270, specialTokens: ['<|endoftext|>'] }))));
    const ok = await llm('train', '--arch', 'gpt2', '--corpus', corpus, '--tokenizer', tokFile, '--steps', '3', '--seq-len', '16', '--batch-size', '2',
      '--set', 'n_embd=16', '--set', 'n_head=2', '--set', 'n_inner=32', '--threads', '1', '--out', join(tmp, 'corpus-model'));
    expect(ok.err).toBeNull();
    expect((await loadModelDir(join(tmp, 'corpus-model'))).config.vocabSize).toBe(270);
    const short = join(tmp, 'short.txt');
    writeFileSync(short, 'the cat');
    const { err } = await llm('train', '--arch', 'llama', '--corpus', short, '--tokenizer', tokFile, '--steps', '3', '--seq-len', '64', '--out', join(tmp, 'y'));
    expect((err as Error).message).toMatch(/--corpus .*short.txt tokenizes to \d+ tokens, fewer than one window of 65/);
    expect(existsSync(join(tmp, 'y'))).toBe(false);
  });

  it('stops on a NaN loss, says at which step, keeps the last good checkpoint and exports nothing', async () => {
    const out = join(tmp, 'nan');
    const { err } = await llm('train', '--arch', 'llama', '--task', 'copy2', '--steps', '20', '--batch-size', '4', '--lr', '1e30', '--warmup', '1', '--clip', '0',
      '--checkpoint-every', '1', '--out', out, ...tiny);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toMatch(/is not finite at step (\d+); stopped without applying it \(the last good checkpoint is from step \d+\)/);
    expect(existsSync(join(out, 'checkpoint', 'checkpoint.json'))).toBe(true);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
  });
});

describe('llm convert-gqa', () => {
  it('pools 4 kv heads into 1; the result loads; bad head counts are refused', async () => {
    const out = join(tmp, 'gqa');
    const { out: text, err } = await llm('convert-gqa', '--model', join(tmp, 'copy'), '--kv-heads', '1', '--out', out);
    expect(err).toBeNull();
    expect(text).toMatch(/key\/value heads 4 -> 1/);
    const m = await loadModelDir(out);
    expect(m.config.numKvHeads).toBe(1);
    expect(existsSync(join(out, 'tokenizer.json'))).toBe(true);
    const bad = await llm('convert-gqa', '--model', join(tmp, 'copy'), '--kv-heads', '3', '--out', join(tmp, 'gqa3'));
    expect((bad.err as Error).message).toMatch(/--kv-heads 3 must be a positive divisor of the model's 4/);
    const tuned = await llm('train', '--init', out, '--task', 'copy2', '--steps', '3', '--batch-size', '4', '--eval', '5', '--threads', '1', '--out', join(tmp, 'tuned'));
    expect(tuned.err).toBeNull();
    expect((await loadModelDir(join(tmp, 'tuned'))).config.numKvHeads).toBe(1);
  });
});
