/*
 * Context management with the model's own tokenizer: models/default has a byte-level tokenizer
 * without merges and no chat template, so a conversation's count is the byte length of its
 * ChatML rendering (the platform's default template): an independent expectation. Truncation
 * keeps the task and whole tool-call units within the window; summarising replaces dropped turns
 * with one summary, written once per dropped turn; the agent's requests stay within the window.
 */
import { join } from 'node:path';
import { addTool, ContextManager, ContextOverflowError, modelTokenCounter, OpenAiHttpClient, runAgent, ToolRegistry, turnUnits, type ChatMessage } from '../src';
import { startScriptedServer } from '../src/testing';

const counter = modelTokenCounter(join(__dirname, '../../../models/default'));
const chatml = (msgs: ChatMessage[]) => msgs.map((m) => `<|im_start|>${m.role}\n${m.content ?? ''}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

const call = (id: string): ChatMessage => ({ role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'add', arguments: '{}' } }] });
const conversation: ChatMessage[] = [
  { role: 'system', content: 'You add numbers.' },
  { role: 'user', content: 'Add everything below.' },
  call('a'),
  { role: 'tool', tool_call_id: 'a', content: 'x'.repeat(100) },
  { role: 'assistant', content: 'first part done' },
  { role: 'user', content: 'y'.repeat(100) },
  call('b'),
  { role: 'tool', tool_call_id: 'b', content: '42' },
];

describe('context', () => {
  it('counts tokens with the model tokenizer and template', () => {
    expect(counter.count(conversation)).toBe(bytes(chatml(conversation)));
    expect(counter.countText('héllo')).toBe(6);
  });

  it('truncates the oldest turns, keeping the task and tool calls with their results', async () => {
    const max = bytes(chatml(conversation)) - 60;
    const cm = new ContextManager(counter, { maxTokens: max, reserveTokens: 0, strategy: 'truncate' });
    const r = await cm.fit(conversation);
    // The first unit (call a + its 100-byte result) is the one dropped.
    expect(r.messages).toEqual([conversation[0], conversation[1], ...conversation.slice(4)]);
    expect(r).toMatchObject({ dropped: 2, tokens: bytes(chatml(r.messages)) });
    expect(r.tokens).toBeLessThanOrEqual(max);
    expect(turnUnits(conversation.slice(2)).map((u) => u.length)).toEqual([2, 1, 1, 2]);
    const tiny = new ContextManager(counter, { maxTokens: 50, reserveTokens: 0, strategy: 'truncate' });
    await expect(tiny.fit(conversation)).rejects.toThrow(ContextOverflowError);
    await expect(tiny.fit(conversation)).rejects.toThrow(/does not fit the 50-token window even with only the task and the last turn/);
  });

  it('summarises dropped turns into one system message, once per turn', async () => {
    const calls: Array<{ n: number; previous: string | null }> = [];
    const cm = new ContextManager(counter, {
      maxTokens: bytes(chatml(conversation)) - 60,
      reserveTokens: 0,
      strategy: 'summarise',
      summarise: async (dropped, previous) => (calls.push({ n: dropped.length, previous }), `S${calls.length}`),
    });
    const r = await cm.fit(conversation);
    expect(r.messages[2]).toEqual({ role: 'system', content: 'Summary of earlier turns: S1' });
    expect(r.messages.slice(3)).toEqual(conversation.slice(4));
    expect(r.summary).toBe('S1');
    await cm.fit(conversation); // the same dropped turns: no new summary
    expect(calls).toEqual([{ n: 2, previous: null }]);
  });

  it('keeps every request of an agent run within the window', async () => {
    let turn = 0;
    const server = await startScriptedServer({
      chat: () => (++turn < 6 ? { tool_calls: [{ id: `c${turn}`, name: 'add', arguments: JSON.stringify({ a: 1000000 * turn, b: 1 }) }] } : { content: 'done' }),
    });
    try {
      const max = 400;
      const context = new ContextManager(counter, { maxTokens: max, reserveTokens: 20, strategy: 'truncate' });
      const r = await runAgent('Add a lot of numbers please.', { client: new OpenAiHttpClient({ baseUrl: server.url }), tools: new ToolRegistry([addTool]), context, system: 'sys' });
      expect(r.answer).toBe('done');
      const sizes = server.requests.map((q) => bytes(chatml(q.body.messages)));
      expect(Math.max(...sizes)).toBeLessThanOrEqual(max - 20);
      expect(server.requests.at(-1)!.body.messages.length).toBeLessThan(r.messages.length - 1); // something was dropped
      expect(server.requests.at(-1)!.body.messages.slice(0, 2).map((m: ChatMessage) => m.content)).toEqual(['sys', 'Add a lot of numbers please.']);
    } finally {
      await server.close();
    }
  });
});
