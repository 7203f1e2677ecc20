/*
 * What the API front sees of each request, as an Intake decorator (every role that admits requests:
 * all, api): the time to first token and end-to-end latency as its client sees them, the requests
 * in flight here, and how each ended. The scheduler's own view of its sequences is
 * scheduler-metrics.ts; in the api/scheduler split each process reports only its own numbers.
 *
 *   llm_time_to_first_token_seconds{model_name}    admission -> first message with tokens (once per request)
 *   llm_e2e_request_latency_seconds{model_name}    admission -> the last message (requests that finished)
 *   llm_api_requests_in_flight{model_name}         admitted here and not yet ended
 *   llm_api_requests_total{model_name,outcome}     finished | rejected (RESOURCE_EXHAUSTED before any
 *                                                  token: the queue is full) | failed | cancelled (the client left)
 *
 * "Admission" is when the validated (and tokenized) request reaches the intake; vLLM measures from
 * the start of tokenization, which for the prompts this serves is within a millisecond of it.
 * Also a debug log line per request (admitted, ended) with its request id.
 * What it is not: the HTTP or gRPC status of the call (libs/platform's telemetry counts those).
 */
import { counter, createLogger, gauge, histogram, Status, type Logger } from '@llm/platform';
import type { inference } from '@llm/proto';
import type { NormalizedRequest } from '../api/params';
import type { Intake } from '../intake/intake';

const TTFT_SECONDS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const E2E_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];
type Outcome = 'finished' | 'rejected' | 'failed' | 'cancelled';

export class ObservedIntake implements Intake {
  private readonly ttft;
  private readonly e2e;
  private readonly inFlight;
  private readonly outcomes: Record<Outcome, { inc(): void }>;
  private readonly log: Logger;

  constructor(
    private readonly inner: Intake,
    modelName: string,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {
    this.ttft = histogram('llm_time_to_first_token_seconds', 'Time to first token as the API front sees it (seconds).', ['model_name'], TTFT_SECONDS).labels(modelName);
    this.e2e = histogram('llm_e2e_request_latency_seconds', 'End-to-end request latency as the API front sees it (seconds).', ['model_name'], E2E_SECONDS).labels(modelName);
    this.inFlight = gauge('llm_api_requests_in_flight', 'Requests admitted by this API front and not yet ended.', ['model_name']).labels(modelName);
    const total = counter('llm_api_requests_total', 'Requests admitted by this API front, by how they ended.', ['model_name', 'outcome']);
    this.outcomes = { finished: total.labels(modelName, 'finished'), rejected: total.labels(modelName, 'rejected'), failed: total.labels(modelName, 'failed'), cancelled: total.labels(modelName, 'cancelled') };
    this.inFlight.set(0);
    this.log = createLogger('api');
  }

  async *generate(request: NormalizedRequest, signal?: AbortSignal): AsyncGenerator<inference.GenerateResponse> {
    const t0 = this.now();
    let outcome: Outcome = 'cancelled';
    let sawToken = false;
    let messages = 0;
    this.inFlight.inc();
    if (this.log.isLevelEnabled('debug')) this.log.debug({ requestId: request.clientRequestId || request.requestId, promptTokens: request.promptIds.length, n: request.n }, 'request admitted');
    try {
      for await (const msg of this.inner.generate(request, signal)) {
        messages++;
        if (!sawToken && msg.tokenIds.length > 0) {
          sawToken = true;
          this.ttft.observe(this.now() - t0);
        }
        if (msg.usage) {
          outcome = 'finished';
          this.e2e.observe(this.now() - t0);
        }
        yield msg;
      }
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      outcome = messages === 0 && code === Status.RESOURCE_EXHAUSTED ? 'rejected' : 'failed';
      throw err;
    } finally {
      this.inFlight.dec();
      this.outcomes[outcome].inc();
      if (this.log.isLevelEnabled('debug')) this.log.debug({ requestId: request.clientRequestId || request.requestId, outcome, seconds: this.now() - t0 }, 'request ended');
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
