/*
 * Every op's backward against central finite differences in float64 (relative error < 1e-5).
 */
import { JsEngine } from '../src/autograd/engine';
import { Var } from '../src/autograd/var';
import { add, addBias, gelu, mul, scale, silu, weightedSum } from '../src/ops/elementwise';
import { embedding, gatherRows, linear, matmul } from '../src/ops/linear';
import { layerNorm, rmsNorm, rope, softmaxRows } from '../src/ops/norm';
import { causalAttention } from '../src/ops/attention';
import { moeAuxLoss, moeCombine, moeGate, rowsPerExpert } from '../src/ops/moe';
import { crossEntropy } from '../src/loss/cross-entropy';
import { Rng } from '../src/rng';
import { gradCheck, param, probe, randn } from './gradcheck';

const TOL = 1e-5;
const engine = new JsEngine();

async function check(inputs: Var[], f: () => Promise<Var> | Var, seed = 1): Promise<number> {
  const rng = new Rng(seed + 1000);
  let R: Float64Array | null = null;
  return gradCheck(inputs, async () => {
    const out = await f();
    if (!R) R = randn(rng, out.size);
    return out.size === 1 ? out : probe(out, R);
  });
}

describe('elementwise ops', () => {
  const rng = new Rng(1);
  it('add, addBias, mul, scale, weightedSum', async () => {
    const a = param(rng, [3, 4]);
    const b = param(rng, [3, 4]);
    const bias = param(rng, [4]);
    expect(await check([a, b], () => add(a, b))).toBeLessThan(TOL);
    expect(await check([a, bias], () => addBias(a, bias))).toBeLessThan(TOL);
    expect(await check([a, b], () => mul(a, b))).toBeLessThan(TOL);
    expect(await check([a], () => scale(a, -1.7))).toBeLessThan(TOL);
    const s1 = param(rng, [1]);
    const s2 = param(rng, [1]);
    expect(await check([s1, s2], () => weightedSum([{ v: s1, w: 0.3 }, { v: s2, w: 2 }]))).toBeLessThan(TOL);
  });
  it('silu and gelu', async () => {
    const x = param(rng, [5, 6], 2);
    expect(await check([x], () => silu(x))).toBeLessThan(TOL);
    expect(await check([x], () => gelu(x))).toBeLessThan(TOL);
  });
  it('gelu matches the tanh formula at a hand-worked point', () => {
    // gelu(1) = 0.5 · (1 + tanh(0.7978845608 · 1.044715)) = 0.8411919906
    expect(gelu(Var.constant(Float64Array.of(1), [1])).data[0]).toBeCloseTo(0.8411919906, 9);
  });
});

describe('matrix ops', () => {
  const rng = new Rng(2);
  it('linear (with and without bias) and matmul', async () => {
    const x = param(rng, [5, 4]);
    const w = param(rng, [3, 4]);
    expect(await check([x, w], () => linear(engine, x, w))).toBeLessThan(TOL);
    const b = param(rng, [3]);
    expect(await check([x, w, b], () => linear(engine, x, w, b))).toBeLessThan(TOL);
    const a = param(rng, [3, 5]);
    const bm = param(rng, [5, 2]);
    expect(await check([a, bm], () => matmul(engine, a, bm, 3, 5, 2))).toBeLessThan(TOL);
  });
  it('embedding and gatherRows (repeated rows accumulate)', async () => {
    const table = param(rng, [6, 3]);
    const ids = Int32Array.of(1, 4, 1, 0, 5);
    expect(await check([table], () => embedding(table, ids))).toBeLessThan(TOL);
    expect(await check([table], () => gatherRows(table, Int32Array.of(2, 2)))).toBeLessThan(TOL);
    expect(() => embedding(table, Int32Array.of(6))).toThrow(/outside \[0, 6\)/);
  });
});

describe('normalisation, RoPE, softmax', () => {
  const rng = new Rng(3);
  it('rmsNorm and layerNorm', async () => {
    const x = param(rng, [4, 6]);
    const w = param(rng, [6]);
    const b = param(rng, [6]);
    expect(await check([x, w], () => rmsNorm(x, w, 1e-5))).toBeLessThan(TOL);
    expect(await check([x, w, b], () => layerNorm(x, w, b, 1e-5))).toBeLessThan(TOL);
  });
  it('rope (rotate_half) and its inverse rotation', async () => {
    const x = param(rng, [3, 2 * 8]);
    const pos = Int32Array.of(0, 5, 17);
    expect(await check([x], () => rope(x, pos, 2, 8, 10000))).toBeLessThan(TOL);
    // Position 0 is the identity; rotations preserve each pair's norm.
    const y = rope(x, pos, 2, 8, 10000);
    for (let i = 0; i < 16; i++) expect(y.data[i]).toBeCloseTo(x.data[i], 12);
    const n = (a: ArrayLike<number>, o: number) => a[o] ** 2 + a[o + 4] ** 2;
    expect(n(y.data, 16 + 1)).toBeCloseTo(n(x.data, 16 + 1), 10);
  });
  it('softmaxRows', async () => {
    const x = param(rng, [3, 5], 3);
    expect(await check([x], () => softmaxRows(x, 5))).toBeLessThan(TOL);
  });
});

describe('causal attention with GQA', () => {
  for (const [NH, NKV] of [[2, 2], [4, 2], [4, 1]]) {
    it(`NH=${NH} NKV=${NKV}`, async () => {
      const rng = new Rng(10 + NH * 3 + NKV);
      const B = 2, T = 4, HS = 3;
      const q = param(rng, [B * T, NH * HS]);
      const k = param(rng, [B * T, NKV * HS]);
      const v = param(rng, [B * T, NKV * HS]);
      const d = { B, T, NH, NKV, HS };
      expect(await check([q, k, v], () => causalAttention(engine, q, k, v, d))).toBeLessThan(TOL);
    });
  }
  it('matches a direct per-head reference (row t attends to 0..t; head h reads kv head h / G)', async () => {
    const rng = new Rng(5);
    const B = 1, T = 3, NH = 4, NKV = 2, HS = 2;
    const q = param(rng, [T, NH * HS]);
    const k = param(rng, [T, NKV * HS]);
    const v = param(rng, [T, NKV * HS]);
    const y = await causalAttention(engine, q, k, v, { B, T, NH, NKV, HS });
    for (let h = 0; h < NH; h++) {
      const kh = Math.floor(h / 2);
      for (let t = 0; t < T; t++) {
        const s: number[] = [];
        for (let j = 0; j <= t; j++) {
          let dot = 0;
          for (let e = 0; e < HS; e++) dot += q.data[t * NH * HS + h * HS + e] * k.data[j * NKV * HS + kh * HS + e];
          s.push(dot / Math.sqrt(HS));
        }
        const m = Math.max(...s);
        const p = s.map((x) => Math.exp(x - m));
        const z = p.reduce((a, b) => a + b, 0);
        for (let e = 0; e < HS; e++) {
          let o = 0;
          for (let j = 0; j <= t; j++) o += (p[j] / z) * v.data[j * NKV * HS + kh * HS + e];
          expect(y.data[t * NH * HS + h * HS + e]).toBeCloseTo(o, 12);
        }
      }
    }
  });
});

describe('MoE gating, combine and aux loss', () => {
  const rng = new Rng(6);
  const N = 5, E = 4, C = 3, k = 2;
  it('gate weights are the renormalised top-k softmax', () => {
    const logits = Var.constant(Float64Array.of(1, 3, 2, 0), [1, 4]);
    const { gates, selected } = moeGate(logits, 4, 2);
    expect(Array.from(selected)).toEqual([1, 2]);
    // p ∝ (e^1, e^3, e^2, e^0); top-2 = {1, 2}: e^3 / (e^3 + e^2) = 1 / (1 + e^-1)
    expect(gates.data[1]).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
    expect(gates.data[0] + gates.data[3]).toBe(0);
  });
  it('gate, combine and aux loss gradients', async () => {
    const logits = param(rng, [N, E]);
    const sel = moeGate(logits, E, k).selected;
    const rows = rowsPerExpert(sel, N, E, k);
    const ys = rows.map((r) => param(rng, [r.length, C]));
    expect(await check([logits], () => moeGate(logits, E, k).gates)).toBeLessThan(TOL);
    expect(await check([logits, ...ys], () => moeCombine(ys, rows, moeGate(logits, E, k).gates, N, C))).toBeLessThan(TOL);
    expect(await check([logits], () => moeAuxLoss(logits, E, k, sel))).toBeLessThan(TOL);
  });
  it('aux loss equals k for uniform routing probabilities', () => {
    const logits = Var.constant(new Float64Array(4 * 4), [4, 4]);
    const sel = Int32Array.of(0, 1, 2, 3, 0, 1, 2, 3); // each expert picked by 2 of 4 tokens
    expect(moeAuxLoss(logits, 4, 2, sel).data[0]).toBeCloseTo(2, 12);
  });
});

describe('cross-entropy', () => {
  it("the seed's worked example: p(cat) = 0.7 gives −ln 0.7, gradient p − onehot", async () => {
    // Probabilities (cat, dog, rabbit) = (0.7, 0.2, 0.1) as logits ln p; target cat.
    const logits = Var.param(Float64Array.of(Math.log(0.7), Math.log(0.2), Math.log(0.1)), [1, 3]);
    const loss = crossEntropy(logits, Int32Array.of(0), 3);
    expect(loss.data[0]).toBeCloseTo(0.356675, 6);
    const { backward } = await import('../src/autograd/var');
    await backward(loss);
    expect(Array.from(logits.grad!).map((g) => +g.toFixed(9))).toEqual([-0.3, 0.2, 0.1]);
  });
  it('uniform logits give log(V)', () => {
    const V = 37;
    const loss = crossEntropy(Var.constant(new Float64Array(4 * V).fill(2.5), [4, V]), Int32Array.of(0, 5, 36, 1), V);
    expect(loss.data[0]).toBeCloseTo(Math.log(V), 12);
  });
  it('ignore-index rows count for nothing; label smoothing matches the smoothed-target formula', async () => {
    const rng = new Rng(8);
    const V = 6;
    const logits = param(rng, [4, V], 2);
    const tg = Int32Array.of(2, -100, 5, 0);
    expect(await check([logits], () => crossEntropy(logits, tg, V, { labelSmoothing: 0.1 }))).toBeLessThan(TOL);
    const full = crossEntropy(logits, tg, V, { labelSmoothing: 0.1 }).data[0];
    // Reference: mean over kept rows of −Σ q log p, q = 0.9·onehot + 0.1/V.
    let ref = 0;
    for (const n of [0, 2, 3]) {
      const row = Array.from(logits.data.subarray(n * V, n * V + V));
      const lse = Math.log(row.reduce((a, x) => a + Math.exp(x), 0));
      for (let v = 0; v < V; v++) ref -= (0.9 * (v === tg[n] ? 1 : 0) + 0.1 / V) * (row[v] - lse);
    }
    expect(full).toBeCloseTo(ref / 3, 12);
    expect(() => crossEntropy(logits, Int32Array.of(0, 1, 2, 9), V)).toThrow(/target 9 at row 3/);
  });
});

describe('the finite-difference checker itself', () => {
  it('flags a backward that is off by a factor', async () => {
    const rng = new Rng(9);
    const x = param(rng, [6]);
    const wrong = (): Var => {
      const y = Float64Array.from(x.data, (v) => v * v);
      const out: Var = new Var(y, [6], {
        parents: [x],
        backward: () => {
          const g = x.gradBuf();
          for (let i = 0; i < 6; i++) g[i] += 2.001 * x.data[i] * out.grad![i]; // true derivative: 2x
        },
      });
      return out;
    };
    expect(await check([x], wrong)).toBeGreaterThan(1e-4);
  });
});
