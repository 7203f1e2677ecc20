/*
 * `llm tokenize`, `llm detokenize`, `llm train-tokenizer` through the real command parser:
 * ids equal tiktoken's, decode round-trips, training writes files the library loads, and
 * bad flags give one-line errors.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get_encoding } from 'tiktoken';
import { loadTokenizerJson, parseTiktokenFile } from '@llm/tokenizer';
import { CliError } from '../errors';
import { llm } from '../../test/support/llm';

const tmp = mkdtempSync(join(tmpdir(), 'cli-tok-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


describe('llm tokenize / detokenize', () => {
  const text = "Hello, world! It's 2024 🎉 héllo";

  it('prints the same ids as tiktoken, as JSON or space-separated', async () => {
    const ref = get_encoding('cl100k_base');
    const want = Array.from(ref.encode(text));
    ref.free();
    const json = await llm('tokenize', '--encoding', 'cl100k_base', '--text', text, '--json');
    expect(json.err).toBeNull();
    expect(JSON.parse(json.out)).toEqual(want);
    const plain = await llm('tokenize', '--encoding', 'cl100k_base', '--text', text);
    expect(plain.out.trim().split(' ').map(Number)).toEqual(want);
    const back = await llm('detokenize', '--encoding', 'cl100k_base', '--ids', JSON.stringify(want));
    expect(back.out).toBe(`${text}\n`);
  });

  it('reads --file and handles special tokens by flag', async () => {
    const file = join(tmp, 'in.txt');
    writeFileSync(file, 'a <|endoftext|> b');
    const bad = await llm('tokenize', '--encoding', 'r50k_base', '--file', file);
    expect(bad.err).toBeInstanceOf(CliError);
    expect((bad.err as Error).message).toMatch(/disallowed special token .* --allowed-special all/);
    const ok = await llm('tokenize', '--encoding', 'r50k_base', '--file', file, '--allowed-special', 'all', '--json');
    expect(JSON.parse(ok.out)).toContain(50256);
  });

  it('gives one-line errors for bad flags', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['tokenize', '--text', 'x'], /exactly one of --encoding/],
      [['tokenize', '--encoding', 'nope', '--text', 'x'], /--encoding nope: unknown encoding/],
      [['tokenize', '--encoding', 'cl100k_base'], /exactly one of --text/],
      [['tokenize', '--tokenizer', join(tmp, 'missing.json'), '--text', 'x'], /no such file/],
      [['detokenize', '--encoding', 'cl100k_base', '--ids', '1,-2'], /non-negative integer token ids/],
      [['detokenize', '--encoding', 'cl100k_base', '--ids', '100256'], /out of range/],
      [['train-tokenizer', '--input', join(tmp, 'nope.txt'), '--vocab-size', '300', '--out', tmp], /--input .*no such file/],
      [['train-tokenizer', '--input', 'x', '--vocab-size', 'abc', '--out', tmp], /--vocab-size abc/],
    ];
    for (const [args, re] of cases) {
      const { err } = await llm(...args);
      expect(err).toBeInstanceOf(CliError);
      expect((err as Error).message).toMatch(re);
    }
    const broken = join(tmp, 'broken.json');
    writeFileSync(broken, JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 }, merges: ['a b'] } }));
    const { err } = await llm('tokenize', '--tokenizer', broken, '--text', 'x');
    expect((err as Error).message).toMatch(/model\.merges\[0\]/);
  });
});

describe('llm train-tokenizer', () => {
  it('writes a tokenizer.json and a rank file of the requested size', async () => {
    const input = join(tmp, 'corpus.txt');
    writeFileSync(input, 'the cat sat on the mat; the dog sat on the log. '.repeat(50) + 'naïve café 🎉 '.repeat(20));
    const out = join(tmp, 'tok');
    const { err } = await llm('train-tokenizer', '--input', input, '--vocab-size', '280', '--out', out, '--special', '<|endoftext|>');
    expect(err).toBeNull();
    const tok = loadTokenizerJson(readFileSync(join(out, 'tokenizer.json'), 'utf8'));
    expect(tok.vocabSize).toBe(280);
    expect(tok.tokenToId('<|endoftext|>')).toBe(279);
    expect(parseTiktokenFile(readFileSync(join(out, 'tokenizer.tiktoken'), 'utf8')).length).toBe(279);
    const ids = await llm('tokenize', '--tokenizer', out, '--text', 'the cat', '--json');
    expect(tok.decode(JSON.parse(ids.out))).toBe('the cat');
  });
});
