/*
 * Constrained decoding through the official OpenAI SDK against the embedded platform, on
 * random-weight models of three architectures (llama, qwen2, gpt2): for random JSON Schemas of the
 * supported subset, every choice (temperature 0, and temperature 1 with n = 4) parses and
 * validates with ajv; a grammar whose only sentence is a fixed string produces exactly it; vLLM's
 * guided_* and structured_outputs fields work; unsupported keywords are refused with a 400 naming
 * the keyword; the gRPC oneof does the same as HTTP. A random-weight model follows no schema on
 * its own, so every valid output here is the grammar's doing.
 */
import Ajv from 'ajv';
import fc from 'fast-check';
import OpenAI from 'openai';
import { boundedObjectSchema } from '@llm/grammar/testing';
import { inference } from '@llm/proto';
import { expectPoolWhole, modelDir, startTestPlatform, type TestPlatform } from './support/platform';

jest.setTimeout(300_000);
const ajv = new Ajv({ strict: false });
const messages = [{ role: 'user' as const, content: 'Give me the record.' }];

describe.each(['llama', 'qwen2', 'gpt2'] as const)('response_format json_schema on a random %s', (arch) => {
  let p: TestPlatform;
  let client: OpenAI;
  beforeAll(async () => {
    p = await startTestPlatform({ model: modelDir(3, arch, { max_position_embeddings: 1024 }), numBlocks: 1200, blockSize: 4, config: { httpPort: 0 } });
    client = new OpenAI({ baseURL: `http://${p.orch.http}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(() => p.close());

  it('every choice parses and validates (temperature 0, and 1 with n = 4)', async () => {
    await fc.assert(
      fc.asyncProperty(boundedObjectSchema, fc.nat(1000), async (schema, seed) => {
        const validate = ajv.compile(schema);
        for (const [temperature, n] of [[0, 1], [1, 4]]) {
          const res = await client.chat.completions.create({
            model: 'tiny-llama', messages, temperature, n, seed,
            response_format: { type: 'json_schema', json_schema: { name: 'record', schema, strict: true } },
          });
          expect(res.choices).toHaveLength(n);
          for (const c of res.choices) {
            expect(c.finish_reason).toBe('stop');
            const value = JSON.parse(c.message.content ?? '');
            if (!validate(value)) throw new Error(`${c.message.content} does not validate under ${JSON.stringify(schema)}: ${ajv.errorsText(validate.errors)}`);
          }
        }
      }),
      { numRuns: 12 },
    );
    await new Promise((r) => setTimeout(r, 40));
    expectPoolWhole(p.pools);
  });
});

describe('the other grammar kinds', () => {
  let p: TestPlatform;
  let client: OpenAI;
  beforeAll(async () => {
    p = await startTestPlatform({ numBlocks: 200, blockSize: 4, config: { httpPort: 0 } });
    client = new OpenAI({ baseURL: `http://${p.orch.http}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(() => p.close());

  it('a grammar whose only continuation is a fixed string produces exactly that string', async () => {
    const fixed = '{"status": "ok", "ids": [1, 2, 3]} — fin ✓';
    for (const temperature of [0, 1]) {
      const res = await client.completions.create({ model: 'tiny-llama', prompt: 'x', max_tokens: 120, temperature, n: 2, guided_choice: [fixed] } as never);
      for (const c of (res as OpenAI.Completion).choices) expect({ text: c.text, finish: c.finish_reason }).toEqual({ text: fixed, finish: 'stop' });
    }
    const ebnf = `root ::= "A" "B" "C"`;
    const g = await client.completions.create({ model: 'tiny-llama', prompt: 'x', max_tokens: 10, guided_grammar: ebnf } as never);
    expect((g as OpenAI.Completion).choices[0].text).toBe('ABC');
  });

  it('guided_regex, guided_choice and structured_outputs hold the output to the constraint', async () => {
    for (let seed = 0; seed < 4; seed++) {
      const r = (await client.completions.create({ model: 'tiny-llama', prompt: 'The', max_tokens: 40, temperature: 1, seed, guided_regex: '[a-z]{2,5}-[0-9]{1,3}' } as never)) as OpenAI.Completion;
      expect(r.choices[0].text).toMatch(/^[a-z]{2,5}-[0-9]{1,3}$/);
      const c = (await client.completions.create({ model: 'tiny-llama', prompt: 'The', max_tokens: 40, temperature: 1, seed, guided_choice: ['red', 'green', 'blue'] } as never)) as OpenAI.Completion;
      expect(['red', 'green', 'blue']).toContain(c.choices[0].text);
      const s = (await client.chat.completions.create({ model: 'tiny-llama', messages, max_tokens: 60, temperature: 1, seed, structured_outputs: { regex: '(yes|no), [0-9]' } } as never)) as OpenAI.ChatCompletion;
      expect(s.choices[0].message.content).toMatch(/^(yes|no), [0-9]$/);
    }
  });

  it('json_object gives a JSON object (streamed deltas concatenate to it)', async () => {
    const stream = await client.chat.completions.create({ model: 'tiny-llama', messages, temperature: 0, seed: 1, stream: true, max_tokens: 180, response_format: { type: 'json_object' } });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    if (finish === 'stop') expect(typeof JSON.parse(text)).toBe('object');
    else expect(text.startsWith('{')).toBe(true); // the length limit cut it; still a JSON object's prefix
  });

  it('refuses unsupported keywords and bad grammars with a 400 naming the field', async () => {
    const bad = async (body: object) => {
      try {
        await client.chat.completions.create({ model: 'tiny-llama', messages, max_tokens: 5, ...body } as never);
      } catch (err) {
        return err as InstanceType<typeof OpenAI.APIError>;
      }
      throw new Error('accepted');
    };
    const e1 = await bad({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { when: { type: 'string', format: 'date-time' } } } } } });
    expect(e1.status).toBe(400);
    expect(e1.param).toBe('response_format.json_schema.schema.properties.when.format');
    expect(e1.message).toMatch(/keyword 'format' is not supported/);
    const e2 = await bad({ guided_grammar: 'root ::= "a" | (' });
    expect([e2.status, e2.param]).toEqual([400, 'guided_grammar']);
    const e3 = await bad({ guided_regex: 'a(?=b)' });
    expect([e3.status, e3.param]).toEqual([400, 'guided_regex']);
    const e4 = await bad({ guided_choice: ['a'], guided_regex: 'a' });
    expect(e4.status).toBe(400);
    const e5 = await bad({ response_format: { type: 'xml' } });
    expect([e5.status, e5.param]).toEqual([400, 'response_format.type']);
  });

  it('the gRPC oneof constrains Complete the same way', async () => {
    const schema = { type: 'object', properties: { n: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['n'] };
    const res = await p.orch.inference.complete(inference.CompleteRequest.fromPartial({ prompt: 'x', sampling: { maxTokens: 30, temperature: 1, n: 3, seed: 5 }, structuredOutput: { jsonSchema: JSON.stringify(schema) } }));
    for (const c of res.choices) expect(ajv.validate(schema, JSON.parse(c.text))).toBe(true);
    await expect(p.orch.inference.complete(inference.CompleteRequest.fromPartial({ prompt: 'x', structuredOutput: { jsonSchema: '{"type": "object", "oneOf": []}' } }))).rejects.toMatchObject({ code: 3, details: expect.stringContaining("structured_output.json_schema.oneOf") });
  });
});
