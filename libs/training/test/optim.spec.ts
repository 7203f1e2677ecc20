/*
 * Optimisers against hand-worked updates, clipping against the norm's definition, and the
 * schedule at its corner points.
 */
import { Var } from '../src/autograd/var';
import { AdamW, clipGradNorm, Sgd } from '../src/optim/optimizers';
import { lrAt } from '../src/optim/schedule';

function p(values: number[], grad: number[], shape = [values.length]): Var {
  const v = Var.param(Float64Array.from(values), shape);
  v.grad = Float64Array.from(grad);
  return v;
}

describe('SGD with momentum', () => {
  it('b = μb + g; p −= lr·b over two steps', () => {
    const w = p([1, -2], [0.5, 1]);
    const opt = new Sgd([['w', w]], { momentum: 0.9 });
    opt.step(0.1); // b = (0.5, 1); w = (0.95, -2.1)
    opt.step(0.1); // b = (0.95, 1.9); w = (0.855, -2.29)
    expect(w.data[0]).toBeCloseTo(0.855, 12);
    expect(w.data[1]).toBeCloseTo(-2.29, 12);
  });
});

describe('AdamW', () => {
  it('first step moves each weight by lr·sign(g) (bias correction), plus decoupled decay on matrices', () => {
    const m = p([1, 2, 3, 4], [0.3, -0.001, 5, 2], [2, 2]);
    const b = p([1], [-2]);
    const opt = new AdamW([['m', m], ['b', b]], { weightDecay: 0.1, eps: 0 });
    opt.step(0.01);
    // m̂ = g, v̂ = g²: update = lr·g/|g| = ±lr; decay lr·wd·p on the matrix only.
    expect(m.data[0]).toBeCloseTo(1 - 0.001 * 1 - 0.01, 12);
    expect(m.data[1]).toBeCloseTo(2 - 0.001 * 2 + 0.01, 12);
    expect(m.data[2]).toBeCloseTo(3 - 0.001 * 3 - 0.01, 12);
    expect(m.data[3]).toBeCloseTo(4 - 0.001 * 4 - 0.01, 12);
    expect(b.data[0]).toBeCloseTo(1 + 0.01, 12);
  });
  it('second step matches the formulas with t = 2', () => {
    const w = p([0], [1]);
    const opt = new AdamW([['w', w]], { weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    opt.step(0.1);
    w.grad![0] = -3;
    opt.step(0.1);
    const m = 0.9 * 0.1 + 0.1 * -3;
    const v = 0.999 * 0.001 + 0.001 * 9;
    const upd = (0.1 * (m / (1 - 0.81))) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8);
    expect(w.data[0]).toBeCloseTo(-0.1 / (1 + 1e-8) - upd, 12); // step 1: lr·g / (|g| + ε)
  });
  it('state round-trips: a restored optimiser continues identically', () => {
    const a = p([1, 2], [0.1, -0.2]);
    const b = p([1, 2], [0.1, -0.2]);
    const oa = new AdamW([['w', a]]);
    const ob = new AdamW([['w', b]]);
    oa.step(0.01);
    ob.step(0.01);
    const fresh = new AdamW([['w', b]]);
    fresh.load(ob.state());
    oa.step(0.01);
    fresh.step(0.01);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(() => new Sgd([['w', a]]).load(oa.state())).toThrow(/adamw, expected sgd/);
  });
});

describe('clipGradNorm', () => {
  it('scales to maxNorm when above, leaves it when below', () => {
    const a = p([0, 0], [3, 0]);
    const b = p([0], [4]);
    expect(clipGradNorm([a, b], 1)).toBeCloseTo(5, 12);
    expect(a.grad![0]).toBeCloseTo(0.6, 5);
    expect(b.grad![0]).toBeCloseTo(0.8, 5);
    expect(clipGradNorm([a, b], 10)).toBeCloseTo(1, 5);
    expect(b.grad![0]).toBeCloseTo(0.8, 5);
  });
});

describe('warmup + cosine schedule', () => {
  const s = { maxLr: 1, minLr: 0.1, warmupSteps: 10, totalSteps: 110 };
  it('ramps linearly, peaks, halves at mid-decay, ends at minLr', () => {
    expect(lrAt(s, 0)).toBeCloseTo(0.1, 12);
    expect(lrAt(s, 9)).toBeCloseTo(1, 12);
    expect(lrAt(s, 10)).toBeCloseTo(1, 12);
    expect(lrAt(s, 60)).toBeCloseTo(0.55, 12);
    expect(lrAt(s, 110)).toBeCloseTo(0.1, 12);
    expect(lrAt(s, 500)).toBeCloseTo(0.1, 12);
  });
});
