/*
 * Tool-call parsing per family against hand-written replies, and the streamer against the whole
 * parser: for random splits of a reply into pieces, the streamed content and argument fragments
 * concatenate to exactly what parseToolCalls finds in the whole text.
 */
import fc from 'fast-check';
import { parseToolCalls, ToolCallStreamer, type ToolFamily } from './index';

const replies: Record<ToolFamily, { text: string; content: string; calls: [string, string][] }> = {
  hermes: {
    text: 'Let me check.\n<tool_call>\n{"name": "weather", "arguments": {"city": "Paris", "days": [1, 2]}}\n</tool_call>\n<tool_call>\n{"name": "time", "arguments": {}}\n</tool_call>',
    content: 'Let me check.',
    calls: [['weather', '{"city": "Paris", "days": [1, 2]}'], ['time', '{}']],
  },
  llama3: {
    text: '<|python_tag|>{"name": "weather", "parameters": {"city": "Paris \\"centre\\""}}; {"name": "time", "parameters": {"tz": "UTC"}}',
    content: '',
    calls: [['weather', '{"city": "Paris \\"centre\\""}'], ['time', '{"tz": "UTC"}']],
  },
  mistral: {
    text: '[TOOL_CALLS] [{"name": "weather", "arguments": {"city": "Paris"}}, {"name": "time", "arguments": {"tz": "CET"}}]',
    content: '',
    calls: [['weather', '{"city": "Paris"}'], ['time', '{"tz": "CET"}']],
  },
};

describe.each(Object.keys(replies) as ToolFamily[])('%s tool calls', (family) => {
  const r = replies[family];
  it('are parsed from a whole reply, arguments as written', () => {
    const got = parseToolCalls(family, r.text);
    expect(got.content).toBe(r.content);
    expect(got.calls.map((c) => [c.name, c.arguments])).toEqual(r.calls);
  });

  it('stream as deltas that reassemble to the whole parse, however the text is split', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(r.text.length), { maxLength: 12 }), (cuts) => {
        const at = [...new Set(cuts)].sort((a, b) => a - b);
        const pieces = [0, ...at].map((c, i, xs) => r.text.slice(c, xs[i + 1] ?? r.text.length));
        const s = new ToolCallStreamer(family);
        let content = '';
        const calls: { id?: string; name: string; args: string }[] = [];
        for (const piece of [...pieces.map((p) => s.push(p)), s.finish()]) {
          content += piece.content;
          for (const d of piece.toolCalls) {
            calls[d.index] ??= { name: '', args: '' };
            if (d.id) calls[d.index].id = d.id;
            if (d.function.name) calls[d.index].name = d.function.name;
            calls[d.index].args += d.function.arguments;
          }
        }
        expect(content.trim()).toBe(r.content);
        expect(calls.map((c) => [c.name, c.args])).toEqual(r.calls);
        expect(calls.every((c) => /^call_[0-9a-f]{24}$/.test(c.id ?? ''))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

it('a reply without calls is all content (and JSON that is not a call stays content)', () => {
  expect(parseToolCalls('hermes', 'Hello {"a": 1}')).toEqual({ content: 'Hello {"a": 1}', calls: [] });
  expect(parseToolCalls('llama3', 'It is sunny.')).toEqual({ content: 'It is sunny.', calls: [] });
  const s = new ToolCallStreamer('hermes');
  expect(s.push('Hello <tool')).toEqual({ content: 'Hello ', toolCalls: [] });
  expect(s.push('s> x')).toEqual({ content: '<tools> x', toolCalls: [] });
});
