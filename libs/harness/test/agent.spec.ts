/*
 * The agent loop against a scripted OpenAI-compatible server: a multi-step tool-use run with a
 * trace that replays to the same answer, invalid calls returned to the model and counted,
 * parallel calls, budgets, guardrails, schema errors at registration, endpoint errors, and
 * streamed tool-call deltas reassembled.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import {
  addTool, JsonlTrace, OpenAiHttpClient, readTrace, ReplayDivergenceError, RecordedModel, replayTrace, runAgent, ToolRegistry, ToolSchemaError,
  type ModelEvent, type Tool,
} from '../src';
import { startScriptedServer, type ChatScript, type ScriptedServer } from '../src/testing';

let server: ScriptedServer;
let dir: string;

/** A scripted policy that sums the question's numbers through `add`, one call per turn. */
function sumPolicy(body: any): ChatScript {
  const msgs = body.messages as Array<{ role: string; content: string | null }>;
  const numbers = (msgs.find((m) => m.role === 'user')!.content ?? '').split('+').map(Number);
  const results = msgs.filter((m) => m.role === 'tool').map((m) => m.content ?? '');
  if (results.some((r) => r.startsWith('error'))) return { content: 'gave up' };
  const k = results.length;
  if (k === numbers.length - 1) return { content: results[k - 1], usage: { prompt_tokens: 10, completion_tokens: 2 } };
  const a = k === 0 ? numbers[0] : Number(results[k - 1]);
  return { tool_calls: [{ id: `c${k}`, name: 'add', arguments: JSON.stringify({ a, b: numbers[k + 1] }) }], usage: { prompt_tokens: 10, completion_tokens: 5 } };
}

beforeAll(async () => {
  server = await startScriptedServer({ chat: sumPolicy });
  dir = mkdtempSync(join(tmpdir(), 'harness-agent-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.handlers.chat = sumPolicy;
  server.requests.length = 0;
});

const client = () => new OpenAiHttpClient({ baseUrl: server.url, model: 'scripted', retry: { baseDelayMs: 1, maxRetries: 2 } });

describe('agent loop', () => {
  it('solves a sum through add calls, traces every step, and replays to the same answer', async () => {
    const file = join(dir, 'trace.jsonl');
    const r = await runAgent('12+34+56+78', { client: client(), tools: new ToolRegistry([addTool]), trace: new JsonlTrace(file), sampling: { temperature: 0 } });
    expect(r.stopReason).toBe('final_answer');
    expect(r.answer).toBe(String(12 + 34 + 56 + 78));
    expect(r.toolCalls).toMatchObject({ total: 3, invalid: 0 });
    expect(r.steps).toBe(4);
    expect(r.usage).toEqual({ prompt_tokens: 40, completion_tokens: 17, total_tokens: 57 });
    // The request carried the tool's JSON Schema, and each tool result answered its call id.
    expect(server.requests[0].body.tools[0].function).toMatchObject({ name: 'add', parameters: { required: ['a', 'b'] } });
    expect(server.requests[1].body.messages[2]).toMatchObject({ role: 'tool', tool_call_id: 'c0', content: '46' });

    const events = readTrace(file);
    expect(events.map((e) => e.type)).toEqual(['run_start', 'model', 'tool', 'model', 'tool', 'model', 'tool', 'model', 'run_end']);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(9);
    const replayed = await replayTrace(file, { tools: new ToolRegistry([addTool]) });
    expect(replayed).toHaveLength(1);
    expect(replayed[0]).toMatchObject({ same: true, recordedAnswer: '180' });
    expect(replayed[0].result.answer).toBe('180');
  });

  it('stops a replay whose tool now answers differently, naming the step', async () => {
    const r = await runAgent('10+20+30', { client: client(), tools: new ToolRegistry([addTool]), trace: new JsonlTrace(join(dir, 't2.jsonl')) });
    expect(r.answer).toBe('60');
    const wrongAdd: Tool = { ...addTool, run: ({ a, b }: { a: number; b: number }) => String(a + b + 1) };
    const [rep] = await replayTrace(join(dir, 't2.jsonl'), { tools: new ToolRegistry([wrongAdd]) });
    expect(rep.same).toBe(false);
    expect(rep.result.stopReason).toBe('error');
    expect(rep.result.error).toMatch(/request at step 2 differs from the recorded one/);
    const events = readTrace(join(dir, 't2.jsonl')).filter((e): e is ModelEvent => e.type === 'model');
    await expect(new RecordedModel(events.slice(0, 1)).chat({ messages: [{ role: 'user', content: 'other' }] })).rejects.toThrow(ReplayDivergenceError);
  });

  it('returns an invalid call to the model as an error, counts it, and goes on', async () => {
    let turn = 0;
    server.handlers.chat = (body) => {
      turn++;
      if (turn === 1) return { tool_calls: [{ id: 'bad', name: 'add', arguments: '{"a": "twelve", "b": 3}' }] };
      if (turn === 2) return { tool_calls: [{ id: 'bad2', name: 'add', arguments: '{"a": 1,' }, { id: 'bad3', name: 'nope', arguments: '{}' }] };
      if (turn === 3) return { tool_calls: [{ id: 'ok', name: 'add', arguments: '{"a": 12, "b": 3}' }] };
      return { content: body.messages.at(-1).content };
    };
    const r = await runAgent('12+3', { client: client(), tools: new ToolRegistry([addTool]) });
    expect(r.answer).toBe('15');
    expect(r.toolCalls).toMatchObject({ total: 4, invalid: 3 });
    expect(r.toolCalls.outcomes.map((o) => o.status)).toEqual(['invalid_arguments', 'invalid_json', 'unknown_tool', 'ok']);
    const second = server.requests[1].body.messages.at(-1);
    expect(second).toMatchObject({ role: 'tool', tool_call_id: 'bad' });
    expect(second.content).toMatch(/^error: invalid arguments for 'add': arguments\/a must be number/);
    expect(server.requests[2].body.messages.at(-1).content).toMatch(/unknown tool 'nope' \(available: add\)/);
  });

  it('runs the calls of one message in parallel and answers them in order', async () => {
    const slow = (name: string, ms: number): Tool => ({
      name, parameters: { type: 'object', properties: {} }, run: () => new Promise((r) => setTimeout(() => r(name), ms)),
    });
    let turn = 0;
    server.handlers.chat = () =>
      ++turn === 1 ? { tool_calls: [{ id: 'x', name: 'slowA', arguments: '{}' }, { id: 'y', name: 'slowB', arguments: '{}' }] } : { content: 'done' };
    const t0 = performance.now();
    const r = await runAgent('go', { client: client(), tools: new ToolRegistry([slow('slowA', 300), slow('slowB', 300)]) });
    expect(performance.now() - t0).toBeLessThan(550); // sequential would take >= 600 ms
    expect(r.messages.filter((m) => m.role === 'tool').map((m) => [m.tool_call_id, m.content])).toEqual([['x', 'slowA'], ['y', 'slowB']]);
  });

  it('stops at the step, token and cost budgets', async () => {
    const tools = new ToolRegistry([addTool]);
    expect((await runAgent('1+2+3+4+5', { client: client(), tools, budgets: { maxSteps: 2 } })).stopReason).toBe('max_steps');
    const byTokens = await runAgent('1+2+3+4+5', { client: client(), tools, budgets: { maxTokens: 30 } });
    expect(byTokens).toMatchObject({ stopReason: 'max_tokens', steps: 2 }); // 15 tokens per call
    const byCost = await runAgent('1+2+3+4+5', { client: client(), tools, budgets: { maxCost: 0.0001, prices: { prompt: 5, completion: 5 } } });
    expect(byCost).toMatchObject({ stopReason: 'max_cost', steps: 2 }); // 15 tokens x 5/1e6 = 7.5e-5 per step
  });

  it('applies guardrails: allowed tools, argument and output validators, approval of side effects', async () => {
    const written: unknown[] = [];
    const write: Tool = { name: 'write', sideEffects: true, parameters: { type: 'object', properties: { v: { type: 'integer' } }, required: ['v'] }, run: ({ v }: { v: number }) => (written.push(v), 'written') };
    let turn = 0;
    server.handlers.chat = () => {
      turn++;
      if (turn === 1) return { tool_calls: [{ id: 'w1', name: 'write', arguments: '{"v": 1}' }, { id: 'w2', name: 'write', arguments: '{"v": 2}' }] };
      if (turn === 2) return { tool_calls: [{ id: 'a1', name: 'add', arguments: '{"a": -1, "b": 1}' }, { id: 'a2', name: 'add', arguments: '{"a": 1000, "b": 1}' }] };
      if (turn === 3) return { tool_calls: [{ id: 'm', name: 'multiply', arguments: '{"a": 2, "b": 2}' }] };
      return { content: 'end' };
    };
    const tools = new ToolRegistry([addTool, write, { ...addTool, name: 'multiply' }]);
    const r = await runAgent('x', {
      client: client(),
      tools,
      guardrails: {
        allowedTools: ['add', 'write'],
        approve: (call) => ((call.args as { v: number }).v === 1 ? true : 'only v=1 is approved'),
        validateArguments: { add: (args) => ((args as { a: number }).a < 0 ? 'a must not be negative' : null) },
        validateOutput: { '*': (out) => (out.length > 3 ? 'longer than 3 characters' : null) },
      },
    });
    expect(server.requests[0].body.tools.map((t: any) => t.function.name)).toEqual(['add', 'write']);
    expect(written).toEqual([1]);
    expect(r.toolCalls.outcomes.map((o) => o.status)).toEqual(['invalid_output', 'not_approved', 'invalid_arguments', 'invalid_output', 'not_allowed']);
    expect(r.toolCalls.outcomes[1].content).toBe("error: call of 'write' not approved: only v=1 is approved");
    expect(r.toolCalls).toMatchObject({ total: 5, invalid: 1, refused: 4 });
  });

  it('refuses an invalid tool schema when the tool is registered, with the reason', () => {
    const bad = (parameters: any): Tool => ({ name: 'bad', parameters, run: () => '' });
    expect(() => new ToolRegistry([bad({ type: 'object', properties: { a: { type: 'integr' } } })])).toThrow(ToolSchemaError);
    expect(() => new ToolRegistry([bad({ type: 'object', properties: { a: { type: 'integr' } } })])).toThrow(/^tool 'bad': invalid parameters schema: schema is invalid: data\/properties\/a\/type must be equal to one of the allowed values/);
    expect(() => new ToolRegistry([bad({ type: 'string' })])).toThrow(/must be a JSON Schema with "type": "object"/);
    expect(() => new ToolRegistry([{ ...addTool }, { ...addTool }])).toThrow(/registered twice/);
  });

  it('takes zod schemas: offered as JSON Schema, validated by zod', async () => {
    const greet: Tool<{ name: string }> = { name: 'greet', parameters: z.object({ name: z.string().min(2) }), run: ({ name }) => `hi ${name}` };
    const reg = new ToolRegistry([greet]);
    expect(reg.specs()[0].function.parameters).toMatchObject({ type: 'object', properties: { name: { type: 'string', minLength: 2 } }, required: ['name'] });
    expect(reg.get('greet')!.validate({ name: 'a' })).toMatch(/arguments\/name/);
    expect(reg.get('greet')!.validate({ name: 'ab' })).toBeNull();
  });

  it('retries a 500, then ends the run with one clear error message', async () => {
    let calls = 0;
    server.handlers.chat = () => (calls++, { status: 500, message: 'engine on fire' });
    const r = await runAgent('1+2+3', { client: client(), tools: new ToolRegistry([addTool]) });
    expect(calls).toBe(3);
    expect(r.stopReason).toBe('error');
    expect(r.error).toBe(`POST ${server.url}/v1/chat/completions: 500 Internal Server Error: engine on fire (gave up after 3 attempts)`);
    calls = 0;
    server.handlers.chat = () => (calls++ === 0 ? { status: 503, message: 'busy' } : sumPolicy({ messages: [{ role: 'user', content: '1+2' }] }));
    expect((await client().chat({ messages: [{ role: 'user', content: '1+2' }] })).message.tool_calls).toHaveLength(1);
    server.handlers.chat = () => ({ status: 400, message: "'temperature' must be a number", param: 'temperature' });
    await expect(client().chat({ messages: [] })).rejects.toMatchObject({ status: 400, field: 'temperature', retriable: false });
  });

  it('reassembles streamed tool-call deltas', async () => {
    server.handlers.chat = () => ({ content: 'ok', tool_calls: [{ id: 's1', name: 'add', arguments: '{"a":12,"b":34}' }, { id: 's2', name: 'add', arguments: '{"a":1,"b":2}' }] });
    const chunks: unknown[] = [];
    const r = await client().streamChat({ messages: [{ role: 'user', content: 'x' }] }, (c) => chunks.push(c));
    expect(chunks.length).toBeGreaterThan(5);
    expect(r.message).toEqual({
      role: 'assistant', content: 'ok',
      tool_calls: [
        { id: 's1', type: 'function', function: { name: 'add', arguments: '{"a":12,"b":34}' } },
        { id: 's2', type: 'function', function: { name: 'add', arguments: '{"a":1,"b":2}' } },
      ],
    });
    expect(r.finish_reason).toBe('tool_calls');
  });
});
