/*
 * The grammar library end to end over a real byte-level vocabulary: EBNF from each spec kind,
 * compiled by the engine, walked by random token choices among the allowed ones (a stand-in for
 * any model: whatever the logits, only allowed tokens can be drawn). Every finished walk must
 * decode to text the spec accepts (ajv for schemas, RegExp for regexes), EOS must be refused
 * until the grammar can end, and a one-string grammar must produce exactly that string.
 */
import Ajv from 'ajv';
import fc from 'fast-check';
import { CompileGuard, GrammarEngine, grammarToEbnf, GrammarError, integerRange, maskAllows, type GrammarSpec } from './index';
import { boundedSchema, testVocabulary } from './testing';

const { tokenizer, vocab, eos } = testVocabulary();
let engine: GrammarEngine;
beforeAll(async () => {
  engine = await GrammarEngine.create(vocab);
});

/** Walks the grammar with a seeded choice among allowed tokens; returns the text and whether it ended with EOS. */
async function walk(spec: GrammarSpec, seed: number, maxSteps = 400): Promise<{ text: string; ended: boolean }> {
  const m = await engine.matcher(await engine.compile(grammarToEbnf(spec)));
  let s = seed >>> 0;
  const ids: number[] = [];
  try {
    for (let step = 0; step < maxSteps; step++) {
      const mask = await m.nextTokenMask();
      const allowed: number[] = [];
      for (let id = 0; id < vocab.tokenBytes.length; id++) if (maskAllows(mask, id)) allowed.push(id);
      expect(allowed.length).toBeGreaterThan(0);
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      // Prefer ending when possible half the time, so walks finish.
      const pick = allowed.includes(eos) && s % 2 === 0 ? eos : allowed[s % allowed.length];
      if (pick !== eos && !allowed.includes(pick)) throw new Error('picked a disallowed token');
      expect(m.accept(pick)).toBe(true);
      if (pick === eos) return { text: tokenizer.decode(ids), ended: true };
      ids.push(pick);
    }
  } finally {
    m.dispose();
  }
  return { text: tokenizer.decode(ids), ended: false };
}

describe('EBNF generators', () => {
  it('integer ranges, hand-worked', () => {
    expect(integerRange(7, 123)).toBe('([7-9] | [1-9] [0-9]{1} | "1" [0-1] [0-9]{1} | "1" "2" [0-3])');
    expect(integerRange(-5, 5)).toBe('([0-5] | "-" [1-5])');
  });

  it('refuses unsupported keywords naming their path', () => {
    const err = (s: unknown) => {
      try {
        grammarToEbnf({ kind: 'json_schema', schema: s });
      } catch (e) {
        return e as GrammarError;
      }
      throw new Error('accepted');
    };
    expect(err({ type: 'object', properties: { a: { type: 'number', multipleOf: 2 } } }).path).toBe('properties.a.multipleOf');
    expect(err({ type: 'string', format: 'email' }).message).toMatch(/keyword 'format' is not supported/);
    expect(err({ type: 'string', pattern: 'a(?=b)' }).path).toBe('pattern');
    expect(err({ type: 'number', minimum: 0.5 }).message).toMatch(/bounds must be whole numbers/);
    expect(() => grammarToEbnf({ kind: 'ebnf', grammar: 'start ::= "a"' })).toThrow(/root/);
  });

  it('reports an engine parse error as a GrammarError', async () => {
    await expect(engine.compile('root ::= "a" | (')).rejects.toThrow(GrammarError);
    await expect(engine.compile('root ::= "a" | (')).rejects.toThrow(/EBNF parser error|Expect/);
    expect((await engine.compile('root ::= "ok"')).ebnf).toBe('root ::= "ok"'); // the engine still works
  });
});

describe('walks over a byte-level vocabulary', () => {
  it('a grammar whose only sentence is a fixed string produces exactly it, then only EOS', async () => {
    const s = '{"answer": "héllo 😀", "n": 42}';
    for (const seed of [1, 2, 3]) {
      const r = await walk({ kind: 'choice', choices: [s] }, seed);
      expect(r).toMatchObject({ text: s, ended: true });
    }
  });

  it('EOS is refused until the grammar may end', async () => {
    const m = await engine.matcher(await engine.compile(grammarToEbnf({ kind: 'regex', pattern: 'ab+' })));
    expect(maskAllows(await m.nextTokenMask(), eos)).toBe(false);
    for (const id of tokenizer.encode('ab', { addSpecialTokens: false })) expect(m.accept(id)).toBe(true);
    expect(maskAllows(await m.nextTokenMask(), eos)).toBe(true);
    expect(m.accept(tokenizer.encode('x', { addSpecialTokens: false })[0])).toBe(false);
    m.dispose();
  });

  it('random walks of regexes fully match them', async () => {
    for (const pattern of ['[a-c]{2,4}-\\d{1,3}', '(yes|no|maybe)!?', '\\w+@\\w+\\.(com|org)', '[^x]{3}', '[àé]x.{2}', '\\u65e5+']) {
      for (let seed = 0; seed < 5; seed++) {
        const r = await walk({ kind: 'regex', pattern }, seed);
        if (r.ended) expect({ pattern, seed, text: r.text, ok: new RegExp(`^(?:${pattern})$`, "u").test(r.text) }).toMatchObject({ ok: true });
      }
    }
  });

  it('random walks of random bounded JSON Schemas validate with ajv', async () => {
    const ajv = new Ajv({ strict: false });
    await fc.assert(
      fc.asyncProperty(boundedSchema, fc.nat(), async (s, seed) => {
        const validate = ajv.compile(s as object);
        const r = await walk({ kind: 'json_schema', schema: s }, seed, 1500);
        expect(r.ended).toBe(true);
        const value = JSON.parse(r.text);
        if (!validate(value)) throw new Error(`${r.text} does not validate under ${JSON.stringify(s)}: ${ajv.errorsText(validate.errors)}`);
      }),
      { numRuns: 250 },
    );
  });
});

describe('CompileGuard', () => {
  it('compiles on a thread, reports parse errors, and refuses what takes longer than the limit', async () => {
    const guard = new CompileGuard(vocab, 20_000);
    const ebnf = grammarToEbnf({ kind: 'json_schema', schema: { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] } });
    expect((await guard.check(ebnf)).compileMs).toBeGreaterThan(0);
    expect((await guard.check(ebnf)).compileMs).toBe(0); // cached
    await expect(guard.check('root ::= "a" | (')).rejects.toThrow(/grammar: .*Expect/);
    await guard.close();
    const impatient = new CompileGuard(vocab, 1);
    await expect(impatient.check(grammarToEbnf({ kind: 'json', object: false }))).rejects.toThrow(/longer than 1 ms/);
    await impatient.close();
  });
});
