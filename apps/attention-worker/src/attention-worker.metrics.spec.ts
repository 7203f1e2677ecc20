/*
 * WorkerMetrics' single-stream kernel counters: brought up to a backend's own counts by deltas (a
 * backend that chooses between the wasm decoder and ONNX Runtime), untouched by one that does not.
 */
import { metricsRegistry } from '@llm/platform';
import type { StepBackend } from '@llm/model';
import { WorkerMetrics } from './attention-worker.metrics';

const value = async (name: string, labels: Record<string, string>): Promise<number> => {
  const m = ((await metricsRegistry().getSingleMetric(name)?.get())?.values ?? []) as { labels: Record<string, unknown>; value: number }[];
  return m.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
};

describe('WorkerMetrics single-stream kernels', () => {
  it('counts steps by kernel and switches as the backend reports them, by difference', async () => {
    const metrics = new WorkerMetrics('kernels-test', 8);
    const backend = { name: 'ort+wasm', wasmSteps: 0, ortSingleSteps: 0, switches: [] as unknown[] };
    const be = backend as unknown as StepBackend;
    backend.wasmSteps = 10;
    backend.ortSingleSteps = 1;
    metrics.kernels(be);
    backend.wasmSteps = 12;
    backend.ortSingleSteps = 7;
    backend.switches.push({ from: 'wasm', to: 'ort' });
    metrics.kernels(be);
    metrics.kernels(be); // nothing new
    expect(await value('llm_worker_single_stream_steps_total', { worker: 'kernels-test', kernel: 'wasm' })).toBe(12);
    expect(await value('llm_worker_single_stream_steps_total', { worker: 'kernels-test', kernel: 'ort' })).toBe(7);
    expect(await value('llm_worker_single_stream_kernel_switches_total', { worker: 'kernels-test' })).toBe(1);
  });

  it('leaves them alone for a backend without the counts (plain ONNX Runtime)', async () => {
    const metrics = new WorkerMetrics('kernels-plain', 8);
    metrics.kernels({ name: 'ort' } as unknown as StepBackend);
    expect(await value('llm_worker_single_stream_steps_total', { worker: 'kernels-plain' })).toBe(0);
  });
});
