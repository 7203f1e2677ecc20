/*
 * Sequence finish rules, hand-worked (vLLM's StopChecker semantics): EOS and stop ids end a
 * sample only after min_tokens, and their text is excluded; ignore_eos keeps going; max_tokens
 * and the context limit give 'length'; stop strings are cut out of the text.
 */
import { buildTokenizerJson } from '@llm/model';
import { loadTokenizerJson } from '@llm/tokenizer';
import { Sequence } from './sequence';
import type { SampleDelta, StopRules } from './types';

const tokenizer = loadTokenizerJson(buildTokenizerJson(300));
const EOS = 299;
const sampling = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, logitBias: {}, seed: '0', numTopLogprobs: 0 };
const ids = (s: string) => tokenizer.encode(s, { addSpecialTokens: false });

function make(rules: Partial<StopRules>, prompt = [1, 2, 3]): { s: Sequence; deltas: SampleDelta[] } {
  const deltas: SampleDelta[] = [];
  const s = new Sequence({
    requestId: 'r', sampleIndex: 0, promptIds: prompt, sampling, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false,
    rules: { maxTokens: 50, minTokens: 0, stopTokenIds: [], eosTokenIds: [EOS], ignoreEos: false, stop: [], maxContextTokens: 100, ...rules },
    onDelta: (_s, d) => deltas.push(d),
  });
  s.status = 'running';
  return { s, deltas };
}

describe('Sequence finish rules', () => {
  it('EOS ends with stop and no EOS text', () => {
    const { s, deltas } = make({});
    for (const t of ids('the model')) s.accept(t, undefined);
    s.accept(EOS, undefined);
    expect(s.finishReason).toBe('stop');
    expect(deltas.map((d) => d.text).join('')).toBe('the model');
    expect(deltas[deltas.length - 1]).toMatchObject({ finishReason: 'stop', stopReason: '', tokenIds: [EOS] });
  });

  it('min_tokens ignores an early EOS; ignore_eos ignores it always', () => {
    const a = make({ minTokens: 2 });
    a.s.accept(EOS, undefined);
    expect(a.s.status).toBe('running');
    a.s.accept(ids('a')[0], undefined);
    a.s.accept(EOS, undefined);
    expect(a.s.finishReason).toBe('stop');
    const b = make({ ignoreEos: true, maxTokens: 3 });
    for (let i = 0; i < 3; i++) b.s.accept(EOS, undefined);
    expect(b.s.finishReason).toBe('length');
  });

  it('a stop token id ends the sample and names itself', () => {
    const { s, deltas } = make({ stopTokenIds: [42] });
    s.accept(42, undefined);
    expect(deltas[0]).toMatchObject({ finishReason: 'stop', stopReason: '42', text: '' });
  });

  it('max_tokens and the context limit end with length', () => {
    const a = make({ maxTokens: 2 });
    a.s.accept(5, undefined);
    a.s.accept(6, undefined);
    expect(a.s.finishReason).toBe('length');
    const b = make({ maxContextTokens: 4 }); // 3 prompt tokens + 1
    b.s.accept(5, undefined);
    expect(b.s.finishReason).toBe('length');
  });

  it('a stop string split over tokens is cut out of the text', () => {
    const { s, deltas } = make({ stop: ['brown fox'] });
    for (const t of ids('The quick brown fox jumps')) {
      if (s.isFinished) break;
      s.accept(t, undefined);
    }
    expect(s.finishReason).toBe('stop');
    expect(deltas.map((d) => d.text).join('')).toBe('The quick ');
    expect(deltas[deltas.length - 1].stopReason).toBe('brown fox');
  });

  it('a resumed sample replays its tokens silently and continues the same text', () => {
    const t = ids('hello world again');
    const whole = make({});
    for (const x of t) whole.s.accept(x, undefined);
    const resumed = new Sequence({
      requestId: 'r', sampleIndex: 0, promptIds: [1, 2, 3], sampling, tokenizer, skipSpecialTokens: true, cacheSalt: '', logprobs: false,
      rules: { maxTokens: 50, minTokens: 0, stopTokenIds: [], eosTokenIds: [EOS], ignoreEos: false, stop: [], maxContextTokens: 100 },
      onDelta: (_s, d) => deltas.push(d), resumeOutputIds: t.slice(0, 2),
    });
    const deltas: SampleDelta[] = [];
    resumed.status = 'running';
    for (const x of t.slice(2)) resumed.accept(x, undefined);
    expect(deltas[0].tokenOffset).toBe(2);
    const before = whole.deltas.slice(0, 2).map((d) => d.text).join('');
    expect(before + deltas.map((d) => d.text).join('')).toBe('hello world again');
  });
});
