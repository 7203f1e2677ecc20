/*
 * End to end, embedded: the orchestrator over in-process kv-manager and worker implementations
 * built from the pure libs. Greedy Generate is compared token for token with the model library's
 * reference `generate` (only where the reference's top-2 logit margin is clear, asserted), streamed
 * deltas with the unary result, stop strings with a plain-text expectation, n = 3 seeded sampling
 * with itself, and every test ends with the KV pool whole (no leaked block).
 */
import { generate, Transformer } from '@llm/model';
import { inference } from '@llm/proto';
import { expectPoolWhole, startTestPlatform, type TestPlatform } from './support/platform';

const MARGIN = 1e-3;
let p: TestPlatform;
let transformer: Transformer;

beforeAll(async () => {
  p = await startTestPlatform({ numBlocks: 96, blockSize: 4 });
  transformer = new Transformer(p.model.config, p.model.weights);
});
afterAll(async () => {
  await p.close();
});
afterEach(async () => {
  await settle();
  expectPoolWhole(p.pools);
});

/** Lets the scheduler run its next step (frees happen at the start of a step). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20 && (p.orch.scheduler?.numRunning || p.orch.scheduler?.numWaiting); i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 20));
}

type PartialRequest = Omit<Partial<inference.GenerateRequest>, 'sampling'> & { sampling?: Partial<inference.SamplingParams> };

function req(partial: PartialRequest): inference.GenerateRequest {
  return inference.GenerateRequest.fromPartial(partial);
}

async function collect(r: inference.GenerateRequest): Promise<inference.GenerateResponse[]> {
  const out: inference.GenerateResponse[] = [];
  for await (const d of p.orch.inference.generate(r)) out.push(d);
  return out;
}

/** A prompt whose greedy continuation has clear margins everywhere (asserted by the caller). */
async function promptWithMargins(maxTokens: number): Promise<{ prompt: number[]; ref: Awaited<ReturnType<typeof generate>> }> {
  for (let seed = 0; seed < 50; seed++) {
    const prompt = Array.from({ length: 6 + (seed % 5) }, (_, i) => (seed * 31 + i * 17 + 5) % 380);
    const ref = await generate(transformer, prompt, { maxTokens, sampling: { temperature: 0 }, stopTokenIds: p.model.config.eosTokenIds });
    if (Math.min(...ref.margins) > MARGIN) return { prompt, ref };
  }
  throw new Error('no prompt with clear greedy margins among 50 candidates');
}

describe('embedded Generate', () => {
  it('greedy equals the model library generate token for token', async () => {
    const { prompt, ref } = await promptWithMargins(12);
    expect(Math.min(...ref.margins)).toBeGreaterThan(MARGIN);
    const deltas = await collect(req({ promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: 12, logprobs: true } }));
    const ids = deltas.flatMap((d) => d.tokenIds);
    expect(ids).toEqual(ref.tokens);
    const last = deltas[deltas.length - 1];
    expect(last.finishReason).toBe(ref.finishReason === 'stop' ? inference.FinishReason.FINISH_REASON_STOP : inference.FinishReason.FINISH_REASON_LENGTH);
    expect(last.usage).toEqual({ promptTokens: prompt.length, completionTokens: ref.tokens.length, cachedPromptTokens: expect.any(Number) });
    // Greedy logprobs are log-softmax of the raw logits: the reference's chosen-token logprob.
    const lps = deltas.flatMap((d) => d.logprobs.map((l) => l.logprob));
    lps.forEach((lp, i) => expect(lp).toBeCloseTo(ref.samples[i].logprob, 3));
  });

  it('penalties and seeded top-k/top-p sampling equal the reference generate with the same seed', async () => {
    const { prompt } = await promptWithMargins(4);
    const sampling = { temperature: 0.8, topK: 40, topP: 0.9, minP: 0.01, repetitionPenalty: 1.2, presencePenalty: 0.5, frequencyPenalty: 0.3, seed: 4242 };
    const ref = await generate(transformer, prompt, { maxTokens: 10, sampling, stopTokenIds: p.model.config.eosTokenIds });
    const res = await p.orch.inference.complete(req({ promptTokenIds: prompt, sampling: { ...sampling, maxTokens: 10 } }));
    expect(res.choices[0].tokenIds).toEqual(ref.tokens);
  });

  it('streamed deltas concatenate to the unary Complete text, with offsets in order', async () => {
    const { prompt } = await promptWithMargins(10);
    const r = req({ promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: 10 } });
    const deltas = await collect(r);
    const whole = await p.orch.inference.complete(r);
    expect(deltas.map((d) => d.text).join('')).toBe(whole.choices[0].text);
    expect(deltas.flatMap((d) => d.tokenIds)).toEqual(whole.choices[0].tokenIds);
    let offset = 0;
    for (const d of deltas) {
      expect(d.tokenOffset).toBe(offset);
      offset += d.tokenIds.length;
    }
    // The text is the tokenizer's decode of the ids (EOS excluded, special tokens skipped).
    const eos = new Set(p.model.config.eosTokenIds);
    const kept = whole.choices[0].tokenIds.filter((t) => !eos.has(t));
    expect(whole.choices[0].text).toBe(p.orch.facts.tokenizer.decode(kept, { skipSpecialTokens: true }));
  });

  it('a text prompt is encoded with the model tokenizer (BOS as its post-processor says)', async () => {
    const r = req({ prompt: 'The quick brown fox', sampling: { temperature: 0, maxTokens: 3 } });
    const whole = await p.orch.inference.complete(r);
    expect(whole.usage?.promptTokens).toBe(p.orch.facts.tokenizer.encode('The quick brown fox').length);
  });

  it('stop strings end the sample across token boundaries and are excluded from the text', async () => {
    const { prompt } = await promptWithMargins(24);
    const free = await p.orch.inference.complete(req({ promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: 24, ignoreEos: true } }));
    const text = free.choices[0].text;
    const ids = free.choices[0].tokenIds;
    // A stop string that starts inside one token's text and ends inside a later one.
    const pieces = ids.map((id) => p.orch.facts.tokenizer.decode([id]));
    let at = 0;
    let k = 0;
    while (k < pieces.length - 2 && pieces[k].length < 2) at += pieces[k++].length;
    expect(k).toBeLessThan(pieces.length - 2);
    const stop = text.slice(at + 1, at + pieces[k].length + 1);
    expect(stop.length).toBeGreaterThan(0);
    const res = await p.orch.inference.complete(req({ promptTokenIds: prompt, sampling: { temperature: 0, maxTokens: 24, ignoreEos: true, stop: [stop] } }));
    const c = res.choices[0];
    expect(c.text).toBe(text.slice(0, text.indexOf(stop)));
    expect(c.finishReason).toBe(inference.FinishReason.FINISH_REASON_STOP);
    expect(c.stopReason).toBe(stop);
  });

  it('n = 3 with a seed is reproducible, and the samples are independent draws', async () => {
    const r = req({ prompt: 'Numbers like 12', sampling: { temperature: 1, seed: 1234, n: 3, maxTokens: 8, ignoreEos: true } });
    const a = await p.orch.inference.complete(r);
    const b = await p.orch.inference.complete(r);
    expect(a.choices.map((c) => c.tokenIds)).toEqual(b.choices.map((c) => c.tokenIds));
    expect(a.choices).toHaveLength(3);
    expect(new Set(a.choices.map((c) => c.tokenIds.join(','))).size).toBeGreaterThan(1);
    // Samples 1 and 2 reuse sample 0's committed prompt blocks.
    expect(a.usage?.completionTokens).toBe(24);
  });

  it('a repeated prompt is served from the prefix cache and still gives the same tokens', async () => {
    const { prompt, ref } = await promptWithMargins(4);
    const long = [...prompt, ...prompt, ...prompt];
    const first = await p.orch.inference.complete(req({ promptTokenIds: long, sampling: { temperature: 0, maxTokens: 4 } }));
    const second = await p.orch.inference.complete(req({ promptTokenIds: long, sampling: { temperature: 0, maxTokens: 4 } }));
    expect(second.choices[0].tokenIds).toEqual(first.choices[0].tokenIds);
    // Full blocks of 4 tokens, never the block holding the last prompt token.
    expect(second.usage?.cachedPromptTokens).toBe(Math.floor((long.length - 1) / 4) * 4);
    expect(ref.tokens.length).toBeGreaterThan(0);
  });
});

describe('bad input', () => {
  const cases: [string, PartialRequest, string][] = [
    ['empty prompt', { prompt: '' }, "field 'prompt'"],
    ['prompt longer than the context', { promptTokenIds: new Array(300).fill(5) }, "field 'prompt_token_ids'"],
    ['max_tokens 0', { prompt: 'hi', sampling: { maxTokens: 0 } }, "field 'sampling.max_tokens'"],
    ['huge max_tokens', { prompt: 'hi', sampling: { maxTokens: 1_000_000 } }, "field 'sampling.max_tokens'"],
    ['n above the maximum', { prompt: 'hi', sampling: { n: 99 } }, "field 'sampling.n'"],
    ['negative temperature', { prompt: 'hi', sampling: { temperature: -0.5 } }, "field 'sampling.temperature'"],
    ['token id outside the vocabulary', { promptTokenIds: [1, 9999] }, "field 'prompt_token_ids[1]'"],
    ['top_p 0', { prompt: 'hi', sampling: { topP: 0 } }, "field 'sampling.top_p'"],
  ];
  it.each(cases)('%s is INVALID_ARGUMENT naming the field', async (_name, partial, field) => {
    await expect(collect(req(partial))).rejects.toMatchObject({ code: 3, details: expect.stringContaining(field) });
  });

  it('an unknown model is NOT_FOUND naming the model', async () => {
    await expect(p.orch.inference.complete(req({ model: 'gpt-9', prompt: 'hi' }))).rejects.toMatchObject({ code: 5, details: expect.stringContaining("'gpt-9'") });
  });

  it('a client that leaves mid-stream cancels the request and its blocks are freed', async () => {
    const controller = new AbortController();
    const stream = p.orch.inference.generate(req({ prompt: 'The model', sampling: { temperature: 0, maxTokens: 100, ignoreEos: true } }), { signal: controller.signal } as never);
    let n = 0;
    for await (const d of stream) {
      expect(d.finishReason).toBe(inference.FinishReason.FINISH_REASON_UNSPECIFIED);
      if (++n === 3) {
        controller.abort();
        break;
      }
    }
    expect(n).toBe(3);
  });
});
