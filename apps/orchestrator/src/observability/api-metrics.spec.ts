/*
 * The API front's metrics, read back exactly: a scripted intake whose messages arrive at known
 * times of a fake clock, so TTFT and end-to-end observations, the in-flight gauge and the outcome
 * counters are known by hand. Each test uses its own model name label.
 */
import { metricsRegistry, resourceExhausted } from '@llm/platform';
import { inference } from '@llm/proto';
import type { NormalizedRequest } from '../api/params';
import type { Intake } from '../intake/intake';
import { ObservedIntake } from './api-metrics';

async function read(name: string, model: string, extra: Record<string, string> = {}, metricName = name): Promise<number> {
  const values = ((await metricsRegistry().getSingleMetric(name)?.get())?.values ?? []) as { labels: Record<string, string | number>; value: number; metricName?: string }[];
  const hit = values.find((v) => (v.metricName ?? name) === metricName && v.labels.model_name === model && Object.entries(extra).every(([k, w]) => String(v.labels[k]) === w));
  return hit?.value ?? 0;
}

function msg(tokens: number[], usage = false): inference.GenerateResponse {
  return inference.GenerateResponse.fromPartial({ tokenIds: tokens, usage: usage ? { promptTokens: 3, completionTokens: 2, cachedPromptTokens: 0 } : undefined });
}

/** An intake that moves the clock to each step's time (seconds after the request started), then yields its message (or throws). */
function scripted(clock: { t: number }, steps: [number, inference.GenerateResponse | Error][]): Intake {
  return {
    async *generate() {
      const start = clock.t;
      for (const [t, m] of steps) {
        clock.t = start + t;
        if (m instanceof Error) throw m;
        yield m;
      }
    },
    close: async () => undefined,
  };
}

const request = { requestId: 'r', promptIds: [1, 2, 3], n: 1 } as NormalizedRequest;

async function drain(it: AsyncIterable<unknown>, stopAfter = Infinity): Promise<void> {
  let i = 0;
  for await (const _ of it) if (++i >= stopAfter) break;
}

describe('ObservedIntake', () => {
  it('observes TTFT at the first message with tokens and the end-to-end latency at the last', async () => {
    const clock = { t: 10 };
    // A first message without tokens (e.g. prompt logprobs only) does not count as the first token.
    const steps: [number, inference.GenerateResponse][] = [[0.5, msg([])], [0.75, msg([7])], [1, msg([8])], [2, msg([], true)]];
    const fast: [number, inference.GenerateResponse][] = [[0.25, msg([7, 8])], [1.25, msg([], true)]];
    await drain(new ObservedIntake(scripted(clock, steps), 'api-a', () => clock.t).generate(request));
    await drain(new ObservedIntake(scripted(clock, fast), 'api-a', () => clock.t).generate(request));
    // TTFT 0.75 and 0.25 (<= 0.25 one, <= 0.75 both); end to end 2 and 1.25 (<= 1.5 one, <= 2 both).
    expect(await read('llm_time_to_first_token_seconds', 'api-a', {}, 'llm_time_to_first_token_seconds_count')).toBe(2);
    expect(await read('llm_time_to_first_token_seconds', 'api-a', {}, 'llm_time_to_first_token_seconds_sum')).toBe(1);
    expect(await read('llm_time_to_first_token_seconds', 'api-a', { le: '0.25' }, 'llm_time_to_first_token_seconds_bucket')).toBe(1);
    expect(await read('llm_time_to_first_token_seconds', 'api-a', { le: '0.75' }, 'llm_time_to_first_token_seconds_bucket')).toBe(2);
    expect(await read('llm_e2e_request_latency_seconds', 'api-a', {}, 'llm_e2e_request_latency_seconds_count')).toBe(2);
    expect(await read('llm_e2e_request_latency_seconds', 'api-a', {}, 'llm_e2e_request_latency_seconds_sum')).toBe(3.25);
    expect(await read('llm_e2e_request_latency_seconds', 'api-a', { le: '1.5' }, 'llm_e2e_request_latency_seconds_bucket')).toBe(1);
    expect(await read('llm_e2e_request_latency_seconds', 'api-a', { le: '2' }, 'llm_e2e_request_latency_seconds_bucket')).toBe(2);
    expect(await read('llm_api_requests_total', 'api-a', { outcome: 'finished' })).toBe(2);
    expect(await read('llm_api_requests_in_flight', 'api-a')).toBe(0);
  });

  it('tells rejected, failed and cancelled requests apart and keeps the in-flight count', async () => {
    const clock = { t: 0 };
    const rejecting = new ObservedIntake(scripted(clock, [[0, resourceExhausted('the queue is full')]]), 'api-b', () => clock.t);
    await expect(drain(rejecting.generate(request))).rejects.toThrow('the queue is full');
    const failing = new ObservedIntake(scripted(clock, [[1, msg([5])], [2, new Error('worker gone')]]), 'api-b', () => clock.t);
    await expect(drain(failing.generate(request))).rejects.toThrow('worker gone');
    const inFlight: number[] = [];
    const leaving = new ObservedIntake(scripted(clock, [[3, msg([5])], [4, msg([6])], [5, msg([], true)]]), 'api-b', () => clock.t);
    for await (const _ of leaving.generate(request)) {
      inFlight.push(await read('llm_api_requests_in_flight', 'api-b'));
      break; // the client leaves after the first token
    }
    expect(inFlight).toEqual([1]);
    expect(await read('llm_api_requests_in_flight', 'api-b')).toBe(0);
    expect(await read('llm_api_requests_total', 'api-b', { outcome: 'rejected' })).toBe(1);
    expect(await read('llm_api_requests_total', 'api-b', { outcome: 'failed' })).toBe(1);
    expect(await read('llm_api_requests_total', 'api-b', { outcome: 'cancelled' })).toBe(1);
    expect(await read('llm_api_requests_total', 'api-b', { outcome: 'finished' })).toBe(0);
    // TTFT for the failing and the leaving request (both saw a token); no end-to-end latency for either.
    expect(await read('llm_time_to_first_token_seconds', 'api-b', {}, 'llm_time_to_first_token_seconds_count')).toBe(2);
    expect(await read('llm_e2e_request_latency_seconds', 'api-b', {}, 'llm_e2e_request_latency_seconds_count')).toBe(0);
  });
});
