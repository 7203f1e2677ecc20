// `llm serve`'s speculative-decoding and burst-scheduling flags: parsed into settings, and each misuse is one line naming the flag.
import { resolve } from 'node:path';
import { repoRoot } from '../serve/default-model';
import { parseServeFlags } from './serve';

const base = {
  model: resolve(repoRoot(), 'models', 'default'), host: '127.0.0.1', grpcPort: '0', httpPort: '-1', backend: 'ort', threads: '1', kvCacheGib: '0.01', blockSize: '16',
  maxNumSeqs: '8', maxNumBatchedTokens: '256', apiKey: [], apiKeysFile: '', authExempt: [], tlsCert: '', tlsKey: '', tlsCa: '', logLevel: 'info', metricsPort: '-1', speculativeTokens: '4', asyncScheduling: 'auto', decodeKernel: 'wasm',
};
const parse = (extra: Record<string, string>) => parseServeFlags({ ...base, ...extra }, () => undefined);

describe('llm serve --speculative flags', () => {
  it('parses prompt lookup and a draft model', () => {
    expect(parse({}).speculative).toBeUndefined();
    expect(parse({ speculative: 'ngram', speculativeTokens: '6' }).speculative).toEqual({ method: 'ngram', numTokens: 6 });
    const draftModel = resolve(repoRoot(), 'models', 'default-draft');
    expect(parse({ speculative: 'draft', draftModel, draftBackend: 'ts' }).speculative).toEqual({ method: 'draft', numTokens: 4, draftModel, backend: 'ts' });
  });

  it('refuses misuse with one line naming the flag', () => {
    expect(() => parse({ speculative: 'eagle' })).toThrow("--speculative must be ngram (prompt lookup) or draft (with --draft-model DIR), got 'eagle'");
    expect(() => parse({ speculative: 'draft' })).toThrow(/--speculative draft needs --draft-model DIR/);
    expect(() => parse({ speculative: 'draft', draftModel: '/nonexistent/dir' })).toThrow('draft model dir /nonexistent/dir has no config.json');
    expect(() => parse({ speculative: 'ngram', speculativeTokens: '0' })).toThrow("--speculative-tokens must be an integer in [1, 32], got '0'");
    expect(() => parse({ draftModel: '/x' })).toThrow('--draft-model needs --speculative draft');
    expect(() => parse({ speculative: 'draft', draftModel: resolve(repoRoot(), 'models', 'default-draft'), draftBackend: 'gpu' })).toThrow("--draft-backend must be ort or ts, got 'gpu'");
  });
});

describe('llm serve --async-scheduling', () => {
  it('is auto by default (the serving mode decides), takes on/off (and true/false), and refuses anything else with one line', () => {
    expect(parse({}).asyncScheduling).toBeUndefined();
    expect(parse({ asyncScheduling: 'on' }).asyncScheduling).toBe(true);
    expect(parse({ asyncScheduling: 'off' }).asyncScheduling).toBe(false);
    expect(parse({ asyncScheduling: 'false' }).asyncScheduling).toBe(false);
    expect(parse({ asyncScheduling: 'ON' }).asyncScheduling).toBe(true);
    expect(() => parse({ asyncScheduling: 'sometimes' })).toThrow("--async-scheduling must be auto, on or off, got 'sometimes'");
  });
});

describe('llm serve burst-scheduling flags', () => {
  it("leaves them to the orchestrator's defaults unless given", () => {
    const s = parse({});
    expect(s.maxPrefillTokensPerStep).toBeUndefined();
    expect(s.maxDecodeDeferMs).toBeUndefined();
    expect(parse({ maxPrefillTokensPerStep: '128', maxDecodeDeferMs: '0' })).toMatchObject({ maxPrefillTokensPerStep: 128, maxDecodeDeferMs: 0 });
  });

  it('refuses a negative or fractional value with one line naming the flag', () => {
    expect(() => parse({ maxPrefillTokensPerStep: '-1' })).toThrow(/^--max-prefill-tokens-per-step must be an integer in \[0, \d+\], got '-1'$/);
    expect(() => parse({ maxDecodeDeferMs: '2.5' })).toThrow(/^--max-decode-defer-ms must be an integer in \[0, \d+\], got '2.5'$/);
  });
});
