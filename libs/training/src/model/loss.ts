/*
 * The training objective of one batch: next-token cross-entropy over the (B, T) window
 * (targets = inputs shifted by one, padding = ignoreIndex) plus, for MoE models, the
 * router load-balancing loss averaged over layers and weighted by router_aux_loss_coef:
 *   loss = CE + coef · mean_l aux_l       (HF MixtralForCausalLM adds coef · aux likewise)
 * NOTE: HF concatenates all layers' router logits before computing one aux loss; this
 * averages per-layer losses (the Switch Transformer form). Both equal k when balanced.
 */
import type { MatmulEngine } from '../autograd/engine';
import type { Var } from '../autograd/var';
import { weightedSum } from '../ops/elementwise';
import { crossEntropy, type CrossEntropyOpts } from '../loss/cross-entropy';
import { type ModelConfig, routerAuxLossCoef } from './config';
import { forward } from './forward';
import type { ParamMap } from './params';

export interface Batch {
  /** (B, T) input ids, row-major. */
  inputs: Int32Array;
  /** (B, T) target ids (next tokens), ignoreIndex where no loss is wanted. */
  targets: Int32Array;
  B: number;
  T: number;
}

export interface LossResult {
  loss: Var;
  /** Cross-entropy part (mean over counted targets). */
  ce: number;
  /** Mean load-balancing loss over MoE layers (0 for dense models). */
  aux: number;
}

export async function modelLoss(
  engine: MatmulEngine,
  cfg: ModelConfig,
  params: ParamMap,
  batch: Batch,
  opts: CrossEntropyOpts = {},
): Promise<LossResult> {
  const { logits, auxLosses } = await forward(engine, cfg, params, batch.inputs, batch.B, batch.T);
  const ce = crossEntropy(logits, batch.targets, cfg.vocabSize, opts);
  if (auxLosses.length === 0) return { loss: ce, ce: ce.data[0], aux: 0 };
  const L = auxLosses.length;
  const aux = auxLosses.reduce((a, v) => a + v.data[0], 0) / L;
  const loss = weightedSum([{ v: ce, w: 1 }, ...auxLosses.map((v) => ({ v, w: routerAuxLossCoef(cfg) / L }))]);
  return { loss, ce: ce.data[0], aux };
}
