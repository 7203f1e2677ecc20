/*
 * A trainable model: config + named parameters + the matmul engine they run on, with the
 * loss of a batch and batched greedy decoding (for exact-match evaluation).
 *
 * Not an inference engine: greedy decoding recomputes the whole prefix each token (no KV
 * cache). Serving goes through the model library, which loads the exported directory.
 */
import type { MatmulEngine } from '../autograd/engine';
import type { Var } from '../autograd/var';
import type { CrossEntropyOpts } from '../loss/cross-entropy';
import { checkTrainable, type ModelConfig } from './config';
import { forward } from './forward';
import { type Batch, type LossResult, modelLoss } from './loss';
import { countParams, initParams, type ParamMap, paramSpecs } from './params';

export class TrainableModel {
  constructor(
    readonly cfg: ModelConfig,
    readonly params: ParamMap,
    readonly engine: MatmulEngine,
  ) {
    checkTrainable(cfg);
    for (const s of paramSpecs(cfg)) {
      const p = params.get(s.name);
      if (!p) throw new Error(`model parameters: missing ${s.name}`);
      if (p.shape.join(',') !== s.shape.join(',')) {
        throw new Error(`model parameters: ${s.name} has shape [${p.shape}], expected [${s.shape}]`);
      }
    }
  }

  static init(cfg: ModelConfig, seed: number, engine: MatmulEngine): TrainableModel {
    checkTrainable(cfg);
    return new TrainableModel(cfg, initParams(cfg, seed, 'f32'), engine);
  }

  get numParams(): number {
    return countParams(this.cfg);
  }

  /** Parameters in checkpoint order. */
  named(): Array<[string, Var]> {
    return paramSpecs(this.cfg).map((s) => [s.name, this.params.get(s.name)!]);
  }

  loss(batch: Batch, opts?: CrossEntropyOpts): Promise<LossResult> {
    return modelLoss(this.engine, this.cfg, this.params, batch, opts);
  }

  /** (B·T, V) logits as plain numbers, no gradient kept. */
  async logits(ids: Int32Array, B: number, T: number): Promise<Float32Array | Float64Array> {
    return (await forward(this.engine, this.cfg, this.params, ids, B, T)).logits.data;
  }

  /** Greedy continuation of equal-length prompts; each stops at eosId or after maxNew tokens. */
  async greedy(prompts: number[][], maxNew: number, eosId: number): Promise<number[][]> {
    const B = prompts.length;
    if (B === 0) return [];
    const V = this.cfg.vocabSize;
    const seqs = prompts.map((p) => [...p]);
    const outs: number[][] = prompts.map(() => []);
    const done = new Array<boolean>(B).fill(false);
    for (let s = 0; s < maxNew && !done.every(Boolean); s++) {
      const T = seqs[0].length;
      if (T > this.cfg.maxPositions) break;
      const logits = await this.logits(Int32Array.from(seqs.flat()), B, T);
      for (let b = 0; b < B; b++) {
        const o = (b * T + T - 1) * V;
        let best = 0;
        for (let v = 1; v < V; v++) if (logits[o + v] > logits[o + best]) best = v;
        seqs[b].push(best);
        if (!done[b]) {
          outs[b].push(best);
          if (best === eosId) done[b] = true;
        }
      }
    }
    return outs;
  }
}
