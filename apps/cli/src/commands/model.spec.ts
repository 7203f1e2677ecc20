/*
 * `llm init-model`, `llm forward`, `llm generate` through the real command parser: the contracts
 * other tools rely on (JSON shapes, exact vocab-size tokenizer, seeded determinism, no tokenizer
 * needed for forward) and one-line errors for bad input.
 */
import { Transformer, loadModelDir, topTwoMargin } from '@llm/model';
import { loadTokenizerJson } from '@llm/tokenizer';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../errors';
import { llm } from '../../test/support/llm';
import { parseSets, parseTokenIds } from './model';

const tmp = mkdtempSync(join(tmpdir(), 'cli-model-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


describe('flag parsing', () => {
  it('--set values are JSON when they parse', () => {
    expect(parseSets(['hidden_size=96', 'tie_word_embeddings=false', 'hidden_act=gelu', 'eos_token_id=[1,2]'])).toEqual({ hidden_size: 96, tie_word_embeddings: false, hidden_act: 'gelu', eos_token_id: [1, 2] });
    expect(() => parseSets(['=3'])).toThrow(CliError);
    expect(parseTokenIds('1, 2,30')).toEqual([1, 2, 30]);
    expect(() => parseTokenIds('1,-2')).toThrow(/expected comma-separated non-negative integer token ids/);
  });
});

describe('init-model, forward, generate', () => {
  const dir = join(tmp, 'qwen');

  it('init-model writes a directory whose tokenizer has exactly vocab_size ids', async () => {
    const r = await llm('init-model', '--arch', 'qwen2', '--set', 'vocab_size=300', '--set', 'hidden_size=32', '--seed', '5', '--out', dir);
    expect(r.err).toBeNull();
    const m = await loadModelDir(dir);
    expect([m.config.vocabSize, m.config.hiddenSize, m.config.headDim]).toEqual([300, 32, 8]);
    const tok = loadTokenizerJson(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    expect(Object.keys(json.model.vocab).length + json.added_tokens.length).toBe(300);
    expect(tok.decode([299])).toBe('<|endoftext|>');
  });

  it('forward --json prints one row of V logits per position, equal to the library forward', async () => {
    rmSync(join(dir, 'tokenizer.json'), { force: true });
    const r = await llm('forward', '--model', dir, '--tokens', '1,2,3', '--json');
    expect(r.err).toBeNull();
    const { logits } = JSON.parse(r.out);
    expect(logits).toHaveLength(3);
    expect(logits[0]).toHaveLength(300);
    const m = await loadModelDir(dir);
    const want = await new Transformer(m.config, m.weights).forward([1, 2, 3]);
    expect(Math.max(...logits.flat().map((v: number, i: number) => Math.abs(v - want[i])))).toBeLessThan(1e-6);
  });

  it('generate --json: same seed, same tokens; greedy by default', async () => {
    const args = ['generate', '--model', dir, '--tokens', '4,5', '--max-tokens', '6', '--temperature', '0.8', '--top-k', '20', '--seed', '9', '--json'];
    const a = JSON.parse((await llm(...args)).out);
    const b = JSON.parse((await llm(...args)).out);
    expect(a.tokens).toHaveLength(6);
    expect(a).toEqual(b);
    expect(a.text).toBe(''); // no tokenizer.json in this directory
    const greedy = JSON.parse((await llm('generate', '--model', dir, '--tokens', '4,5', '--max-tokens', '1', '--json')).out);
    const m = await loadModelDir(dir);
    const logits = await new Transformer(m.config, m.weights).forward([4, 5], undefined, { lastOnly: true });
    expect(topTwoMargin(logits)).toBeGreaterThan(1e-4); // not a near-tie
    expect(greedy.tokens).toEqual([logits.indexOf(Math.max(...logits))]);
  });

  it('init-model refuses a directory that is not empty unless --force', async () => {
    const before = readFileSync(join(dir, 'model.safetensors'));
    const r = await llm('init-model', '--arch', 'llama', '--seed', '9', '--out', dir);
    expect(r.err).toBeInstanceOf(CliError);
    expect(String(r.err)).toMatch(/--out .*qwen is not empty \(\d+ entries, e\.g\. .+\): pass --force to write the model over it/);
    expect(readFileSync(join(dir, 'model.safetensors')).equals(before)).toBe(true); // untouched
    const again = join(tmp, 'again');
    expect((await llm('init-model', '--arch', 'llama', '--set', 'hidden_size=32', '--out', again)).err).toBeNull();
    expect((await llm('init-model', '--arch', 'llama', '--set', 'hidden_size=32', '--seed', '3', '--out', again, '--force')).err).toBeNull();
    expect(readFileSync(join(again, 'config.json'), 'utf8')).toMatch(/"architectures"/);
  });

  it('bad input is a one-line error naming what was wrong', async () => {
    expect(String((await llm('forward', '--model', dir, '--tokens', '1,300')).err)).toMatch(/token id 300 at position 1 is out of range \(expected 0..299/);
    expect(String((await llm('forward', '--model', tmp, '--tokens', '1')).err)).toMatch(/has no config.json/);
    expect(String((await llm('generate', '--model', dir, '--prompt', 'hi')).err)).toMatch(/has no tokenizer.json \(needed for --prompt/);
    expect(String((await llm('init-model', '--arch', 'bert', '--out', join(tmp, 'b'))).err)).toMatch(/--arch bert: expected one of llama, qwen2, mixtral, gpt2/);
    expect(String((await llm('init-model', '--arch', 'llama', '--out', join(dir, 'config.json'))).err)).toMatch(/config\.json is a file, not a directory/);
    expect(String((await llm('generate', '--model', dir, '--tokens', '1', '--top-p', '1.5')).err)).toMatch(/--top-p 1.5: expected a number >= 0 and <= 1/);
  });
});
