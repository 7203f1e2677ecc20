/*
 * Learning-rate schedule: linear warmup then cosine decay (Loshchilov & Hutter 2017, as in
 * nanoGPT's get_lr):
 *   step < W:        lr = maxLr · (step + 1) / W
 *   W ≤ step ≤ S:    lr = minLr + ½ (1 + cos(π · (step − W) / (S − W))) · (maxLr − minLr)
 *   step > S:        lr = minLr
 * Not stateful: a resumed run asks for the same step and gets the same rate.
 */
export interface LrSchedule {
  maxLr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
}

export function lrAt(s: LrSchedule, step: number): number {
  if (step < s.warmupSteps) return (s.maxLr * (step + 1)) / s.warmupSteps;
  if (step > s.totalSteps || s.totalSteps <= s.warmupSteps) return s.minLr;
  const ratio = (step - s.warmupSteps) / (s.totalSteps - s.warmupSteps);
  return s.minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (s.maxLr - s.minLr);
}
