/**
 * RoPE tests: a hand-worked rotation, the relative-position property, and llama3 scaling values.
 */
import { applyRope, ropeTables, ropeInvFreq, createRng } from './index';

describe('rope', () => {
  it('rotates a hand-worked head (HS = 4, theta = 10000)', () => {
    // inv_freq = [1, 10000^(-1/2)] = [1, 0.01]; at position 2 the angles are [2, 0.02]
    const tables = ropeTables(4, 8, 10000);
    const x = Float64Array.from([1, 2, 3, 4]); // x1 = [1, 2], x2 = [3, 4]
    applyRope(x, 1, 1, 4, [2], tables);
    const c = [Math.cos(2), Math.cos(0.02)];
    const s = [Math.sin(2), Math.sin(0.02)];
    const want = [1 * c[0] - 3 * s[0], 2 * c[1] - 4 * s[1], 3 * c[0] + 1 * s[0], 4 * c[1] + 2 * s[1]];
    for (let i = 0; i < 4; i++) expect(Math.abs(x[i] - want[i])).toBeLessThan(1e-6);
  });

  it('q.k after rotation depends only on the position difference', () => {
    const rng = createRng(7);
    const tables = ropeTables(16, 64, 10000);
    const q = rng.normalArray(16);
    const k = rng.normalArray(16);
    const dotAt = (m: number, n: number): number => {
      const a = Float64Array.from(q);
      const b = Float64Array.from(k);
      applyRope(a, 1, 1, 16, [m], tables);
      applyRope(b, 1, 1, 16, [n], tables);
      return a.reduce((s, v, i) => s + v * b[i], 0);
    };
    expect(Math.abs(dotAt(10, 7) - dotAt(33, 30))).toBeLessThan(1e-4);
    expect(Math.abs(dotAt(5, 5) - q.reduce((s, v, i) => s + v * k[i], 0))).toBeLessThan(1e-4);
  });

  it('llama3 scaling keeps high, divides low and interpolates medium frequencies', () => {
    // HS = 8, theta = 500000: inv_freq = [1, 500000^-0.25, 500000^-0.5, 500000^-0.75]
    // factor 8, low 1, high 4, original 64: low_wavelen = 64, high_wavelen = 16
    const plain = ropeInvFreq(8, 500000);
    const scaled = ropeInvFreq(8, 500000, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 });
    // i = 0: wavelen 2pi < 16 -> unchanged
    expect(scaled[0]).toBe(plain[0]);
    // i = 1: f = 0.03761, wavelen = 167 > 64 -> f / 8
    expect(Math.abs(scaled[1] - plain[1] / 8)).toBeLessThan(1e-9);
    // i = 2, 3 are lower still -> / 8
    expect(Math.abs(scaled[3] - plain[3] / 8)).toBeLessThan(1e-12);
    // a medium frequency: original 512 -> low_wavelen 512, high_wavelen 128; i = 1 has wavelen 167
    const mid = ropeInvFreq(8, 500000, { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 512 });
    const f = plain[1];
    const smooth = (512 / ((2 * Math.PI) / f) - 1) / (4 - 1);
    expect(Math.abs(mid[1] - ((1 - smooth) * f / 8 + smooth * f))).toBeLessThan(1e-8);
  });

  it('linear scaling divides every frequency by the factor', () => {
    const plain = ropeInvFreq(8, 10000);
    const lin = ropeInvFreq(8, 10000, { type: 'linear', factor: 4 });
    for (let i = 0; i < 4; i++) expect(Math.abs(lin[i] - plain[i] / 4)).toBeLessThan(1e-9);
  });

  it('rejects positions beyond the table', () => {
    const tables = ropeTables(4, 8, 10000);
    expect(() => applyRope(new Float32Array(4), 1, 1, 4, [8], tables)).toThrow(/position 8 of row 0 is outside \[0, 8\)/);
  });
});
