/*
 * Built-in tools the CLI can offer by name (`llm agent --tools add,...`) and tests use:
 * `add` (a + b, the tool the shipped tool-use model was trained to call) and `multiply`.
 * Integer results are written without a decimal point, as the model saw them in training.
 *
 * What it is not: a sandbox for arbitrary code (no eval, no shell).
 */
import type { Tool } from './registry';

const twoNumbers = {
  type: 'object',
  properties: { a: { type: 'number', description: 'first operand' }, b: { type: 'number', description: 'second operand' } },
  required: ['a', 'b'],
  additionalProperties: false,
};

export const addTool: Tool<{ a: number; b: number }> = {
  name: 'add',
  description: 'Add two numbers and return the sum.',
  parameters: twoNumbers,
  run: ({ a, b }) => String(a + b),
};

export const multiplyTool: Tool<{ a: number; b: number }> = {
  name: 'multiply',
  description: 'Multiply two numbers and return the product.',
  parameters: twoNumbers,
  run: ({ a, b }) => String(a * b),
};

export const BUILTIN_TOOLS: Record<string, Tool> = { add: addTool, multiply: multiplyTool };
