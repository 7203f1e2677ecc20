/*
 * Prometheus metrics of the attention worker (shared process registry of libs/platform), labelled
 * by worker id so several workers composed in one process stay apart:
 *   llm_worker_steps_total{worker,outcome}      steps answered: ok, or the gRPC status name
 *   llm_worker_step_tokens_total{worker}        tokens computed
 *   llm_worker_step_seconds{worker}             whole step (validation, copies, forward, sampling)
 *   llm_worker_forward_seconds{worker}          model forward of a step: the kernels (ORT or TS), MoE
 *                                               dispatches included
 *   llm_worker_step_overhead_seconds{worker}    the rest of a step: validation, block copies, sampling,
 *                                               mapping (step - forward)
 *   llm_worker_grammar_mask_seconds{worker}     computing and applying grammar token masks, per step that had any
 *   llm_worker_kv_pool_blocks{worker}           physical KV blocks (null block included)
 *   llm_worker_cached_sequences{worker}         sequences whose sampling state is cached
 *   llm_worker_draft_tokens_total{worker}       speculative draft tokens proposed
 *   llm_worker_accepted_draft_tokens_total{worker}  of those, accepted by verification
 *                                               (acceptance rate = accepted / draft)
 *   llm_worker_draft_seconds{worker}            proposing drafts, per step that speculated
 *   llm_worker_single_stream_steps_total{worker,kernel}  single-stream decode steps by the kernel
 *                                               that ran them: wasm (the platform's decoder) or ort
 *   llm_worker_single_stream_kernel_switches_total{worker}  changes of that kernel (a busy machine
 *                                               slowing the decoder, and its recovery)
 *
 * Set as each Step is answered. What this is not: the kv-manager's block usage (which blocks are in
 * use is its state).
 */
import { counter, gauge, histogram } from '@llm/platform';
import type { StepBackend, StepOutput } from '@llm/model';

/** What a backend that chooses single-stream kernels (WasmDecodeBackend) counts. */
interface KernelCounts {
  wasmSteps: number;
  ortSingleSteps: number;
  switches: readonly unknown[];
}
const kernelCounts = (b: StepBackend): KernelCounts | undefined => {
  const c = b as unknown as Partial<KernelCounts>;
  return typeof c.wasmSteps === 'number' && typeof c.ortSingleSteps === 'number' && Array.isArray(c.switches) ? (c as KernelCounts) : undefined;
};

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class WorkerMetrics {
  private readonly steps = counter('llm_worker_steps_total', 'Worker steps answered, by outcome (ok or gRPC status)', ['worker', 'outcome']);
  private readonly tokens = counter('llm_worker_step_tokens_total', 'Tokens computed by worker steps', ['worker']);
  private readonly stepSeconds = histogram('llm_worker_step_seconds', 'Whole worker step time', ['worker'], SECONDS);
  private readonly forwardSeconds = histogram('llm_worker_forward_seconds', 'Model forward time of a worker step', ['worker'], SECONDS);
  private readonly overheadSeconds = histogram('llm_worker_step_overhead_seconds', 'Worker step time outside the model forward (validation, copies, sampling)', ['worker'], SECONDS);
  private readonly maskSeconds = histogram('llm_worker_grammar_mask_seconds', 'Grammar token-mask time of a worker step (steps with constrained sequences)', ['worker'], SECONDS);
  private readonly poolBlocks = gauge('llm_worker_kv_pool_blocks', 'Physical KV blocks of the worker pool (null block included)', ['worker']);
  private readonly cached = gauge('llm_worker_cached_sequences', 'Sequences whose sampling state the worker caches', ['worker']);
  private readonly drafts = counter('llm_worker_draft_tokens_total', 'Speculative draft tokens proposed', ['worker']);
  private readonly acceptedDrafts = counter('llm_worker_accepted_draft_tokens_total', 'Speculative draft tokens accepted by verification', ['worker']);
  private readonly draftSeconds = histogram('llm_worker_draft_seconds', 'Time proposing speculative drafts in a step (steps that speculated)', ['worker'], SECONDS);
  private readonly singleSteps = counter('llm_worker_single_stream_steps_total', 'Single-stream decode steps, by the kernel that ran them (wasm decoder or ort)', ['worker', 'kernel']);
  private readonly kernelSwitches = counter('llm_worker_single_stream_kernel_switches_total', 'Changes of the kernel that takes single-stream decode steps', ['worker']);
  private seen = { wasm: 0, ort: 0, switches: 0 };

  constructor(private readonly worker: string, numBlocks: number) {
    this.poolBlocks.set({ worker }, numBlocks);
  }

  stepOk(out: StepOutput, numCachedSequences: number): void {
    const worker = this.worker;
    this.steps.inc({ worker, outcome: 'ok' });
    this.tokens.inc({ worker }, out.numTokens);
    this.stepSeconds.observe({ worker }, Number(out.stepNs) / 1e9);
    if (out.numTokens > 0) this.forwardSeconds.observe({ worker }, Number(out.forwardNs) / 1e9);
    this.overheadSeconds.observe({ worker }, Math.max(0, Number(out.stepNs - out.forwardNs)) / 1e9);
    if (out.grammarNs > 0n) this.maskSeconds.observe({ worker }, Number(out.grammarNs) / 1e9);
    this.cached.set({ worker }, numCachedSequences);
    let drafted = 0, accepted = 0;
    for (const o of out.outputs) {
      drafted += o.numDraftTokens ?? 0;
      accepted += o.numAcceptedDraftTokens ?? 0;
    }
    if (drafted > 0) {
      this.drafts.inc({ worker }, drafted);
      this.acceptedDrafts.inc({ worker }, accepted);
    }
    if ((out.draftNs ?? 0n) > 0n) this.draftSeconds.observe({ worker }, Number(out.draftNs) / 1e9);
  }

  /** Brings the single-stream kernel counters up to the backend's own (a no-op for backends without them). */
  kernels(backend: StepBackend): void {
    const c = kernelCounts(backend);
    if (!c) return;
    const worker = this.worker;
    const now = { wasm: c.wasmSteps, ort: c.ortSingleSteps, switches: c.switches.length };
    if (now.wasm > this.seen.wasm) this.singleSteps.inc({ worker, kernel: 'wasm' }, now.wasm - this.seen.wasm);
    if (now.ort > this.seen.ort) this.singleSteps.inc({ worker, kernel: 'ort' }, now.ort - this.seen.ort);
    if (now.switches > this.seen.switches) this.kernelSwitches.inc({ worker }, now.switches - this.seen.switches);
    this.seen = now;
  }

  stepFailed(outcome: string): void {
    this.steps.inc({ worker: this.worker, outcome });
  }
}
