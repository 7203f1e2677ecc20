/*
 * The trainer's contracts: a checkpointed and resumed run equals an uninterrupted one bit for
 * bit; a resume whose config or settings differ is refused naming the field; a NaN loss stops
 * the run at its step without applying the update, keeping the last good checkpoint; and
 * gradients do not leak across steps.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsEngine } from '../src/autograd/engine';
import { backward } from '../src/autograd/var';
import { TaskBatches } from '../src/data/task-data';
import { getTask } from '../src/data/tasks';
import { trainConfig } from '../src/model/config';
import { TrainableModel } from '../src/model/trainable';
import { NonFiniteLossError, Trainer, type TrainerOptions } from '../src/trainer';

const tmp = mkdtempSync(join(tmpdir(), 'train-ck-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function setup(arch = 'mixtral', sets: string[] = []) {
  const data = new TaskBatches(getTask('copy3'), 4, 2);
  const cfg = trainConfig(arch, ['hidden_size=16', 'intermediate_size=16', 'num_attention_heads=2', 'num_key_value_heads=1', 'num_local_experts=2', 'num_experts_per_tok=1', ...sets].filter((s) => arch === 'mixtral' || !s.includes('expert')), {
    vocabSize: data.vocab.size, bosTokenId: null, eosTokenId: 0,
  });
  return { data, model: TrainableModel.init(cfg, 3, new JsEngine()) };
}

const opts = (steps: number, dir?: string, extra: Partial<TrainerOptions> = {}): TrainerOptions => ({
  steps, optimizer: 'adamw', schedule: { maxLr: 1e-2, minLr: 1e-3, warmupSteps: 2, totalSteps: 6 }, checkpointDir: dir,
  checkpointEvery: 3, meta: { task: 'copy3' }, ...extra,
});

describe('checkpoints', () => {
  it('6 steps straight == 3 steps, checkpoint, fresh process state, resume, 3 more (bitwise)', async () => {
    const a = setup();
    await new Trainer(a.model, a.data, opts(6)).run();

    const dir = join(tmp, 'ck');
    const b = setup();
    await new Trainer(b.model, b.data, opts(3, dir)).run();
    const c = setup(); // a fresh model and data stream, as after a restart
    const t = new Trainer(c.model, c.data, opts(6, dir));
    t.resume(dir);
    expect(t.step).toBe(3);
    await t.run();
    for (const [name, p] of a.model.params) expect(Array.from(c.model.params.get(name)!.data)).toEqual(Array.from(p.data));
  });

  it('SGD state resumes too', async () => {
    const a = setup('llama');
    await new Trainer(a.model, a.data, opts(4, undefined, { optimizer: 'sgd' })).run();
    const dir = join(tmp, 'ck-sgd');
    const b = setup('llama');
    await new Trainer(b.model, b.data, opts(2, dir, { optimizer: 'sgd' })).run();
    const c = setup('llama');
    const t = new Trainer(c.model, c.data, opts(4, dir, { optimizer: 'sgd' }));
    t.resume(dir);
    await t.run();
    for (const [name, p] of a.model.params) expect(Array.from(c.model.params.get(name)!.data)).toEqual(Array.from(p.data));
  });

  it('a resume whose config or settings differ is refused, naming the field, and changes nothing', async () => {
    const dir = join(tmp, 'ck');
    const other = setup('mixtral', ['hidden_size=24']);
    const before = Array.from(other.model.params.get('model.norm.weight')!.data);
    expect(() => new Trainer(other.model, other.data, opts(6, dir)).resume(dir)).toThrow(/hidden_size=16, but the flags give hidden_size=24/);
    expect(Array.from(other.model.params.get('model.norm.weight')!.data)).toEqual(before);
    const same = setup();
    expect(() => new Trainer(same.model, same.data, opts(6, dir, { meta: { task: 'sort4' } })).resume(dir)).toThrow(/trained with task=copy3, but this run has task=sort4/);
    expect(() => new Trainer(same.model, same.data, opts(6, dir, { optimizer: 'sgd' })).resume(dir)).toThrow(/used optimizer adamw/);
    expect(() => new Trainer(same.model, same.data, opts(6)).resume(join(tmp, 'nope'))).toThrow(/has no checkpoint.json/);
  });
});

describe('non-finite loss', () => {
  it('stops at the failing step, applies nothing, and keeps the last good checkpoint', async () => {
    const dir = join(tmp, 'nan');
    const { model, data } = setup('llama');
    const t = new Trainer(model, data, opts(10, dir, { checkpointEvery: 2 }));
    let snapshot: number[] = [];
    const err = await t
      .run((info) => {
        if (info.step !== 3) return;
        // After step 3 a weight goes bad, as an exploding run would.
        model.params.get('model.layers.0.self_attn.q_proj.weight')!.data[0] = NaN;
        snapshot = Array.from(model.params.get('model.norm.weight')!.data);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toMatch(/the loss is not finite at step 4; stopped without applying it \(the last good checkpoint is from step 2\)/);
    expect(t.step).toBe(3);
    expect(Array.from(model.params.get('model.norm.weight')!.data)).toEqual(snapshot);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).step).toBe(2);
    expect(existsSync(join(dir, 'checkpoint.bin'))).toBe(true);
  });
});

describe('gradient bookkeeping', () => {
  it('leaf gradients accumulate across backward calls; the graph is released after each', async () => {
    const { model, data } = setup('llama');
    const batch = data.next();
    const w = model.params.get('model.layers.1.mlp.up_proj.weight')!;
    const r1 = await model.loss(batch);
    await backward(r1.loss);
    const g1 = Array.from(w.grad!);
    expect(r1.loss.parents).toEqual([]);
    expect(r1.loss.backwardFn).toBeNull();
    await backward((await model.loss(batch)).loss);
    w.grad!.forEach((g, i) => expect(g).toBeCloseTo(2 * g1[i], 6));
  });
});
