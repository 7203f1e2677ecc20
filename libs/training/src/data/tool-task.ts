/*
 * tooladd: sums of three to five distinct two-digit numbers, solved only through calls to an
 * `add` tool, as multi-turn ChatML conversations with Hermes-style tool calls. The model never
 * adds: each call copies two numbers (the first two operands, then the last tool result and the
 * next operand), and the final answer copies the last tool result.
 *
 *   <|im_start|>system\ntools: add<|im_end|>\n<|im_start|>user\n12+34+56<|im_end|>\n
 *   <|im_start|>assistant\n<tool_call>{"name":"add","arguments":{"a":12,"b":34}}</tool_call><|im_end|>\n
 *   <|im_start|>tool\n46<|im_end|>\n
 *   <|im_start|>assistant\n<tool_call>{"name":"add","arguments":{"a":46,"b":56}}</tool_call><|im_end|>\n
 *   <|im_start|>tool\n102<|im_end|>\n
 *   <|im_start|>assistant\n102<|im_end|>
 *
 * The loss covers the assistant turns (each call or the answer, and its <|im_end|>); the rest is
 * context. TOOL_CHAT_TEMPLATE (shipped as the model's tokenizer_config.json chat_template) renders
 * OpenAI-style `tools`, assistant `tool_calls` and `tool` messages to exactly this text.
 * The tokenizer is byte-level BPE trained on these conversations (seeded, so reproducible), with
 * a pre-tokenizer that cuts at digits and newlines: every two-digit number and each piece of
 * JSON boilerplate becomes one token, and a rendered conversation is about 60-100 tokens.
 *
 * Not a general tool-use dataset: one tool, one call per turn, operands distinct (so the next
 * operand is the one after the previous call's `b` in the question).
 * Reference: Hermes function-calling format (NousResearch), OpenAI chat tool-call messages.
 */
import { toTokenizerJson, trainBpe } from '@llm/tokenizer';
import { Rng } from '../rng';
import type { SyntheticTask, TaskExample, TaskTokenizer } from './tasks';

export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';
export const TOOL_CALL_OPEN = '<tool_call>';
export const TOOL_CALL_CLOSE = '</tool_call>';
const SPECIALS = ['<|endoftext|>', IM_START, IM_END, TOOL_CALL_OPEN, TOOL_CALL_CLOSE];
/** Added tokens that stay in decoded text (the tool-call parser reads them). */
const NON_SPECIAL = new Set([TOOL_CALL_OPEN, TOOL_CALL_CLOSE]);
/** Pieces for BPE: runs of digits, runs of anything but digits and newlines, and single newlines. */
export const TOOL_PATTERN = '\\p{N}+|[^\\p{N}\\n]+|\\n';

/** The chat template: tools as a list of names, tool calls in Hermes form, `tool` turns as their own role. */
export const TOOL_CHAT_TEMPLATE = [
  "{%- if tools %}{{ '<|im_start|>system\\ntools:' }}{%- for t in tools %}{{ ' ' + (t.function.name if t.function is defined else t.name) }}{%- endfor %}{{ '<|im_end|>\\n' }}{%- endif %}",
  '{%- for m in messages %}',
  "{%- if m.role == 'assistant' and m.tool_calls %}{{ '<|im_start|>assistant\\n' + (m.content if m.content else '') }}",
  '{%- for tc in m.tool_calls %}{%- set f = tc.function if tc.function is defined else tc %}',
  '{{- \'<tool_call>{"name":"\' + f.name + \'","arguments":\' + (f.arguments if f.arguments is string else (f.arguments | tojson)) + \'}</tool_call>\' }}',
  "{%- endfor %}{{ '<|im_end|>\\n' }}",
  "{%- else %}{{ '<|im_start|>' + m.role + '\\n' + (m.content if m.content else '') + '<|im_end|>\\n' }}{%- endif %}",
  '{%- endfor %}',
  "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}",
].join('');

/** The text of one call, as the model writes it (compact JSON, arguments a then b). */
export function toolCallText(a: number, b: number): string {
  return `${TOOL_CALL_OPEN}{"name":"add","arguments":{"a":${a},"b":${b}}}${TOOL_CALL_CLOSE}`;
}

/** `count` distinct two-digit numbers. */
export function drawOperands(rng: Rng, count: number): number[] {
  const out: number[] = [];
  while (out.length < count) {
    const x = 10 + rng.int(90);
    if (!out.includes(x)) out.push(x);
  }
  return out;
}

/** The question the user asks: the operands joined by '+'. */
export function sumQuestion(operands: number[]): string {
  return operands.join('+');
}

/**
 * One conversation as a multi-turn example: `prompt` up to the first assistant turn, `answer`
 * the first call; each later turn's context is the tool result and the next assistant header.
 * Every answer ends with <|im_end|> (the task's end-of-turn token, added by the row encoder).
 */
export function toolConversation(operands: number[]): TaskExample {
  const turns: Array<{ context: string; answer: string }> = [];
  let acc = operands[0] + operands[1];
  const first = toolCallText(operands[0], operands[1]);
  const toolTurn = (result: number) => `\n${IM_START}tool\n${result}${IM_END}\n${IM_START}assistant\n`;
  for (let i = 2; i < operands.length; i++) {
    turns.push({ context: toolTurn(acc), answer: toolCallText(acc, operands[i]) });
    acc += operands[i];
  }
  turns.push({ context: toolTurn(acc), answer: String(acc) });
  const prompt = `${IM_START}system\ntools: add${IM_END}\n${IM_START}user\n${sumQuestion(operands)}${IM_END}\n${IM_START}assistant\n`;
  return { prompt, answer: first, turns };
}

/** The task's tokenizer.json: byte-level BPE learned from `numConversations` seeded conversations. */
export function toolTokenizerJson(vocabSize = 640, numConversations = 4000): Record<string, unknown> {
  const rng = new Rng(20240);
  const pieces: string[] = [];
  for (let i = 0; i < numConversations; i++) {
    const ex = toolConversation(drawOperands(rng, 3 + rng.int(3)));
    const text = [ex.prompt, ex.answer, ...ex.turns!.flatMap((t) => [t.context, t.answer])].join('');
    // Specials are never merged into text: train on the text between them.
    for (const part of text.split(new RegExp(SPECIALS.map((s) => s.replace(/[|[\]\\/]/g, '\\$&')).join('|')))) if (part) pieces.push(part);
  }
  const json = toTokenizerJson(trainBpe(pieces.join('\n'), { vocabSize, specialTokens: SPECIALS, pattern: TOOL_PATTERN }));
  for (const t of json.added_tokens as Array<{ content: string; special: boolean }>) t.special = !NON_SPECIAL.has(t.content);
  return json;
}

const toolTokenizer: TaskTokenizer = {
  build: () => toolTokenizerJson(),
  eosToken: IM_END,
  extraEosTokens: ['<|endoftext|>'],
  tokenizerConfig: {
    bos_token: null,
    eos_token: IM_END,
    pad_token: '<|endoftext|>',
    chat_template: TOOL_CHAT_TEMPLATE,
  },
};

/** tooladd (default up to 5 operands; `tooladdN` for 3..N). */
export function toolAddTask(maxOperands = 5): SyntheticTask {
  if (maxOperands < 3) throw new Error(`task tooladd${maxOperands}: at least 3 operands`);
  return {
    name: `tooladd${maxOperands}`,
    alphabet: '0123456789+',
    // Tokens, not characters: (maxOperands - 1) call turns of at most 20 tokens, plus the question and answer.
    maxLen: 20 * (maxOperands - 1) + 30,
    sample: (rng) => toolConversation(drawOperands(rng, 3 + rng.int(maxOperands - 2))),
    tokenizer: toolTokenizer,
  };
}
