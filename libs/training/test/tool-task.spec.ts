/*
 * The tooladd task: its chat template renders OpenAI-style messages (tools, assistant
 * tool_calls, tool results) to exactly the text the model is trained on; its tokenizer makes
 * each two-digit number one token and keeps `<tool_call>` in decoded text; encoding a row part by
 * part equals encoding the whole conversation (so training and serving see the same ids); only
 * assistant turns and their end-of-turn tokens are learned.
 */
import { applyChatTemplate, loadTokenizerConfig, loadTokenizerJson } from '@llm/tokenizer';
import { IGNORE_INDEX, TaskBatches, tokenizerCodec } from '../src/data/task-data';
import { getTask } from '../src/data/tasks';
import { IM_END, TOOL_CHAT_TEMPLATE, toolConversation, toolTokenizerJson } from '../src/data/tool-task';
import { Rng } from '../src/rng';

const tok = loadTokenizerJson(toolTokenizerJson());
const codec = tokenizerCodec(tok, 'tooladd', IM_END);
const fullText = (ex: ReturnType<typeof toolConversation>) => [ex.prompt, ex.answer, IM_END, ...ex.turns!.flatMap((t) => [t.context, t.answer, IM_END])].join('');

describe('tooladd task', () => {
  it('renders OpenAI tool messages through the chat template to the training text', () => {
    const ex = toolConversation([12, 34, 56]);
    const call = (id: string, a: number, b: number) => ({ id, type: 'function', function: { name: 'add', arguments: `{"a":${a},"b":${b}}` } });
    const messages: any[] = [
      { role: 'user', content: '12+34+56' },
      { role: 'assistant', content: null, tool_calls: [call('c1', 12, 34)] },
      { role: 'tool', tool_call_id: 'c1', content: '46' },
      { role: 'assistant', content: '', tool_calls: [call('c2', 46, 56)] },
      { role: 'tool', tool_call_id: 'c2', content: '102' },
    ];
    const cfg = loadTokenizerConfig({ chat_template: TOOL_CHAT_TEMPLATE });
    const tools = [{ type: 'function', function: { name: 'add', description: 'Add two numbers.', parameters: { type: 'object' } } }];
    const rendered = applyChatTemplate(cfg, messages.map((m) => ({ ...m, content: m.content ?? '' })), { addGenerationPrompt: true, extra: { tools } });
    // Everything the model saw before writing its final answer ("102" then <|im_end|>).
    expect(rendered).toBe(fullText(ex).slice(0, -`102${IM_END}`.length));
    expect(ex.turns!.at(-1)!.answer).toBe('102');
    // Arguments given as an object render as JSON too.
    const objArgs = applyChatTemplate(cfg, [{ role: 'assistant', content: '', tool_calls: [{ function: { name: 'add', arguments: { a: 1, b: 2 } } }] } as any]);
    expect(objArgs).toBe('<|im_start|>assistant\n<tool_call>{"name":"add","arguments":{"a": 1, "b": 2}}</tool_call><|im_end|>\n');
  });

  it('tokenizes numbers as single tokens, keeps tool-call markers in decoded text, and encodes parts as the whole', () => {
    for (let n = 10; n < 100; n++) expect(tok.encode(String(n))).toHaveLength(1);
    const rng = new Rng(3);
    const task = getTask('tooladd');
    for (let i = 0; i < 50; i++) {
      const ex = task.sample(rng);
      const parts = [ex.prompt, ex.answer, IM_END, ...ex.turns!.flatMap((t) => [t.context, t.answer, IM_END])];
      expect(parts.flatMap((p) => codec.encode(p))).toEqual(codec.encode(parts.join('')));
      expect(codec.encode(parts.join('')).length).toBeLessThanOrEqual(task.maxLen + 1);
    }
    const call = toolConversation([12, 34, 56]).answer;
    expect(codec.decode(codec.encode(call))).toBe('<tool_call>{"name":"add","arguments":{"a":12,"b":34}}</tool_call>');
    expect(codec.decode(codec.encode(`x${IM_END}`))).toBe('x'); // end-of-turn is special: skipped
  });

  it('learns only the assistant turns and their end-of-turn tokens', () => {
    const task = getTask('tooladd3');
    const data = new TaskBatches(task, 1, 0, codec);
    const ex = toolConversation([12, 34, 56]);
    const { inputs, targets } = data.encodeRow(ex);
    const learned = targets.map((t, i) => (t === IGNORE_INDEX ? '' : tok.decode([t]))).filter((_, i) => targets[i] !== IGNORE_INDEX);
    // Two calls and the answer, each followed by <|im_end|> (decoded as text, not skipped).
    expect(learned.join('')).toBe(`${ex.answer}${IM_END}${ex.turns![0].answer}${IM_END}${ex.turns![1].answer}${IM_END}`);
    expect(inputs.slice(0, codec.encode(ex.prompt).length)).toEqual(codec.encode(ex.prompt));
  });
});
