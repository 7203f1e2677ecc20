/*
 * StopStringMatcher against a naive reference: after every piece, search the whole text so far
 * for every stop string (O(n^2), obviously right). Property-tested over random texts cut into
 * random pieces, with stop strings drawn from the text itself so matches across boundaries occur.
 */
import fc from 'fast-check';
import { StopStringMatcher } from './stop-matcher';

/** The first piece after which some stop string occurs in the text; its earliest occurrence then. */
function reference(pieces: string[], stops: string[]): { text: string; stop?: string } {
  let s = '';
  for (const piece of pieces) {
    s += piece;
    let best: { at: number; stop: string } | undefined;
    for (const stop of stops) {
      const at = s.indexOf(stop);
      if (at >= 0 && (!best || at < best.at || (at === best.at && stop.length > best.stop.length))) best = { at, stop };
    }
    if (best) return { text: s.slice(0, best.at), stop: best.stop };
  }
  return { text: s };
}

function run(pieces: string[], stops: string[]): { text: string; stop?: string; released: string[] } {
  const m = new StopStringMatcher(stops);
  let text = '';
  const released: string[] = [];
  for (const piece of pieces) {
    const r = m.push(piece);
    text += r.text;
    released.push(r.text);
    if (r.stop !== undefined) return { text, stop: r.stop, released };
  }
  return { text: text + m.flush(), released };
}

describe('StopStringMatcher', () => {
  it('hand-worked: "wor" + "ld!" with stop "rld" releases "wo" then stops', () => {
    const m = new StopStringMatcher(['rld']);
    expect(m.push('hello wor')).toEqual({ text: 'hello wo' });
    expect(m.heldBack).toBe('r');
    expect(m.push('ld!')).toEqual({ text: '', stop: 'rld' });
  });

  it('before min_tokens a complete stop string is ordinary text', () => {
    const m = new StopStringMatcher(['ab']);
    expect(m.push('xab', false)).toEqual({ text: 'xab' });
  });

  it('equals the naive reference on random texts, pieces and stops', () => {
    const alphabet = fc.constantFrom('a', 'b', 'c', ' ', 'é', '😀');
    const str = (minLength: number, maxLength: number) => fc.array(alphabet, { minLength, maxLength }).map((a) => a.join(''));
    fc.assert(
      fc.property(
        fc.array(str(0, 4), { minLength: 1, maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 4 })), { maxLength: 3 }),
        fc.array(str(1, 3), { maxLength: 2 }),
        (pieces, cuts, randomStops) => {
          const text = pieces.join('');
          const fromText = text.length === 0 ? [] : cuts.map(([at, len]) => text.slice(at % text.length, (at % text.length) + len)).filter((s) => s.length > 0);
          const stops = [...fromText, ...randomStops];
          const got = run(pieces, stops);
          const want = reference(pieces, stops);
          expect({ text: got.text, stop: got.stop }).toEqual(want);
          // Nothing released ever contains a stop string.
          for (const r of got.released) for (const s of stops) expect(r.includes(s)).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
