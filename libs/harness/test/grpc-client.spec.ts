/*
 * GrpcInferenceClient over a fake transport in the shapes ts-proto generates for
 * llm.inference.v1: sampling fields mapped, prompt logprobs rebuilt into OpenAI's echoed
 * logprobs (text offsets included), float32 embeddings decoded, streamed chat deltas folded into
 * tool calls, retries on UNAVAILABLE, and one-line errors for RPCs a platform lacks.
 */
import { GrpcInferenceClient, type GrpcChatResponse, type GrpcCompleteRequest, type InferenceTransport } from '../src';

const lp = (token: string, logprob: number) => ({ tokenId: 0, token, logprob, topLogprobs: [] });

function fake(over: Partial<InferenceTransport> = {}): { t: InferenceTransport; seen: GrpcCompleteRequest[] } {
  const seen: GrpcCompleteRequest[] = [];
  const t: InferenceTransport = {
    complete: async (req) => {
      seen.push(req);
      return {
        choices: [{ index: 0, text: '!', tokenIds: [9], logprobs: [lp('!', -0.5)], finishReason: 2, stopReason: '' }],
        usage: { promptTokens: 3, completionTokens: 1 },
        promptLogprobs: req.sampling?.promptLogprobs !== undefined ? [lp('b', -1), lp('cd', -2)] : undefined,
      };
    },
    tokenize: async () => ({ tokenIds: [1, 2], tokens: ['a', 'b'] }),
    listModels: async () => ({ models: [{ model: 'm', architecture: 'llama', vocabSize: 10, maxContextTokens: 64, hasChatTemplate: true }] }),
    ...over,
  };
  return { t, seen };
}

describe('GrpcInferenceClient', () => {
  it('maps a completion and rebuilds echoed prompt logprobs', async () => {
    const { t, seen } = fake();
    const c = new GrpcInferenceClient(t, { address: 'x:1', model: 'm' });
    const r = await c.complete({ prompt: 'abcd', max_tokens: 1, temperature: 0, stop: ['\n'], seed: 7, echo: true, logprobs: 1 });
    expect(seen[0]).toEqual({ model: 'm', prompt: 'abcd', sampling: { promptLogprobs: 1, temperature: 0, topP: undefined, seed: 7, stop: ['\n'], maxTokens: 1, n: undefined, logprobs: true, topLogprobs: 1 } });
    expect(r.choices[0].text).toBe('abcd!');
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.choices[0].logprobs).toMatchObject({ tokens: ['a', 'b', 'cd', '!'], token_logprobs: [null, -1, -2, -0.5], text_offset: [0, 1, 2, 4] });
    expect(r.usage).toEqual({ prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 });
  });

  it('says so when the platform returns no prompt logprobs for echo', async () => {
    const { t } = fake({ complete: async () => ({ choices: [{ index: 0, text: 'x', tokenIds: [], logprobs: [], finishReason: 1, stopReason: '' }], usage: { promptTokens: 3, completionTokens: 1 } }) });
    await expect(new GrpcInferenceClient(t, { address: 'x:1' }).complete({ prompt: 'abc', echo: true, logprobs: 0 })).rejects.toThrow(
      "grpc://x:1: the platform returned no prompt logprobs ('echo' needs SamplingParams.prompt_logprobs in its Inference API)",
    );
  });

  it('decodes little-endian float32 embeddings in input order', async () => {
    const bytes = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);
    const { t } = fake({ embed: async () => ({ data: [{ index: 1, embeddingF32: bytes([0.5, -2]) }, { index: 0, embeddingF32: bytes([1, 0.25]) }] }) });
    expect(await new GrpcInferenceClient(t, { address: 'x:1' }).embed(['a', 'b'])).toEqual([[1, 0.25], [0.5, -2]]);
    await expect(new GrpcInferenceClient(fake().t, { address: 'x:1' }).embed(['a'])).rejects.toThrow('has no Embed RPC yet');
  });

  it('folds streamed chat deltas into content and tool calls', async () => {
    async function* stream(): AsyncGenerator<GrpcChatResponse> {
      yield { index: 0, content: '', toolCalls: [{ index: 0, id: 'c1', name: 'add', arguments: '{"a":1,' }], finishReason: 0 };
      yield { index: 0, content: '', toolCalls: [{ index: 0, id: '', name: '', arguments: '"b":2}' }, { index: 1, id: 'c2', name: 'add', arguments: '{}' }], finishReason: 0 };
      yield { index: 0, content: '', toolCalls: [], finishReason: 4, usage: { promptTokens: 5, completionTokens: 9 } };
    }
    let sent: any;
    const { t } = fake({ chat: (req) => ((sent = req), stream()) });
    const r = await new GrpcInferenceClient(t, { address: 'x:1' }).chat({
      messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: [{ id: 'p', type: 'function', function: { name: 'add', arguments: '{}' } }] }],
      tools: [{ type: 'function', function: { name: 'add', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'add' } },
    });
    expect(sent.messages[1]).toEqual({ role: 'assistant', content: '', toolCalls: [{ id: 'p', name: 'add', arguments: '{}' }], toolCallId: '' });
    expect(sent).toMatchObject({ tools: [{ name: 'add', description: '', parametersJson: '{"type":"object"}' }], toolChoice: '', toolChoiceFunction: 'add' });
    expect(r).toMatchObject({
      message: { role: 'assistant', content: null, tool_calls: [{ id: 'c1', function: { name: 'add', arguments: '{"a":1,"b":2}' } }, { id: 'c2', function: { name: 'add', arguments: '{}' } }] },
      finish_reason: 'tool_calls',
      usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
    });
    await expect(new GrpcInferenceClient(fake().t, { address: 'x:1' }).chat({ messages: [] })).rejects.toThrow(/has no Chat RPC; wrap the client in TemplateChatClient/);
  });

  it('retries UNAVAILABLE and reports other statuses at once', async () => {
    let calls = 0;
    const unavailable = Object.assign(new Error('down'), { code: 14, details: 'connection refused' });
    const { t } = fake({ tokenize: async () => (calls++ < 2 ? Promise.reject(unavailable) : { tokenIds: [5], tokens: ['x'] }) });
    expect(await new GrpcInferenceClient(t, { address: 'x:1', retry: { baseDelayMs: 1 } }).tokenize('x')).toEqual({ ids: [5], pieces: ['x'] });
    const bad = fake({ tokenize: async () => Promise.reject(Object.assign(new Error('bad'), { code: 3, details: "field 'text': must be a string" })) });
    await expect(new GrpcInferenceClient(bad.t, { address: 'x:1' }).tokenize('x')).rejects.toThrow("Tokenize at x:1: gRPC status 3: field 'text': must be a string");
  });
});
