/** @jest-environment ../../libs/tensor/src/onnx/ort-test-environment.js */
/*
 * The harness on the platform's evaluation and tool-calling features:
 *   - loglikelihood: the score of a target equals the sum of its tokens' log-probabilities from
 *     the model library's reference forward of a random-weight model (1e-4), over HTTP (`echo`)
 *     and gRPC (SamplingParams.prompt_logprobs);
 *   - tool calling: the shipped tool-use model solves held-out sums with the tools offered as
 *     OpenAI `tools` (the server renders them and parses the calls), every call valid, over HTTP
 *     chat and the gRPC Chat RPC, with the answers the client-side template path gives.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrpcInferenceClient, loadTaskFile, OpenAiHttpClient, readReport, runEval, type InferenceTransport, type ModelClient } from '@llm/harness';
import { initModelDir, loadModelDir, Transformer } from '@llm/model';
import { connectGrpc } from '@llm/platform';
import { inference } from '@llm/proto';
import { loadTokenizerJson } from '@llm/tokenizer';
import { startEmbedded, type EmbeddedPlatform } from '../src/serve/embedded';
import { llm } from './support/llm';

jest.setTimeout(300_000);

const root = join(__dirname, '../../..');
const settings = { host: '127.0.0.1', grpcPort: 0, httpPort: 0, backend: 'ort' as const, threads: 1, kvCacheGib: 0.02, blockSize: 16, maxNumSeqs: 64, maxNumBatchedTokens: 2048 };
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-features-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loglikelihood against the reference forward', () => {
  let platform: EmbeddedPlatform;
  let conn: ReturnType<typeof connectGrpc<typeof inference.InferenceDefinition>>;
  const samples = [
    { context: 'the quick brown fox', target: ' jumps over' },
    { context: 'a random model', target: ' still has logprobs' },
  ];

  beforeAll(async () => {
    initModelDir(join(dir, 'rand'), 'llama', { seed: 5 });
    platform = await startEmbedded({ ...settings, modelDir: join(dir, 'rand') });
    conn = connectGrpc(inference.InferenceDefinition, platform.grpcAddress);
    writeFileSync(join(dir, 'll.jsonl'), samples.map((s) => JSON.stringify(s)).join('\n'));
    writeFileSync(join(dir, 'll.yaml'), 'name: ll\nsamples: ll.jsonl\nrequest: loglikelihood\nprompt: "{{ context }}"\ntarget: "{{ target }}"\nmetrics: [perplexity]\n');
  });
  afterAll(async () => {
    conn?.close();
    await platform?.close();
  });

  /** sum over the target's tokens of log_softmax(logits[t-1])[ids[t]], by the reference Transformer. */
  async function reference(context: string, target: string): Promise<number> {
    const m = await loadModelDir(join(dir, 'rand'));
    const tok = loadTokenizerJson(readFileSync(join(dir, 'rand', 'tokenizer.json'), 'utf8'));
    const ctx = tok.encode(context, { addSpecialTokens: false });
    const all = tok.encode(context + target, { addSpecialTokens: false });
    expect(all.slice(0, ctx.length)).toEqual(ctx);
    const V = m.config.vocabSize;
    const logits = await new Transformer(m.config, m.weights).forward(all); // (T, V)
    let sum = 0;
    for (let t = ctx.length; t < all.length; t++) {
      const row = logits.subarray((t - 1) * V, t * V);
      const mx = Math.max(...row);
      sum += row[all[t]] - mx - Math.log(row.reduce((z, x) => z + Math.exp(x - mx), 0));
    }
    return sum;
  }

  for (const transport of ['http', 'grpc'] as const) {
    it(`over ${transport}`, async () => {
      const client: ModelClient =
        transport === 'http'
          ? new OpenAiHttpClient({ baseUrl: `http://${platform.httpAddress}` })
          : new GrpcInferenceClient(conn.client as unknown as InferenceTransport, { address: platform.grpcAddress });
      const rep = await runEval({ task: loadTaskFile(join(dir, 'll.yaml')), client, outDir: join(dir, `ll-${transport}`), cacheDir: null });
      for (const [i, s] of samples.entries()) expect(Math.abs(rep.samples[i].logprob! - (await reference(s.context, s.target)))).toBeLessThan(1e-4);
    });
  }
});

describe('tool calling through the platform', () => {
  let platform: EmbeddedPlatform;
  const modelDir = join(root, 'models/tool-use');
  const N = process.env.HARNESS_FULL_EVAL ? 200 : 30;

  beforeAll(async () => {
    platform = await startEmbedded({ ...settings, modelDir });
  });
  afterAll(async () => {
    await platform?.close();
  });

  it(`solves held-out sums with server-side tool calls over HTTP and gRPC, as the template path does`, async () => {
    const http = new OpenAiHttpClient({ baseUrl: `http://${platform.httpAddress}` });
    const tools = [{ type: 'function' as const, function: { name: 'add', parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] } } }];
    const probe = await http.chat({ messages: [{ role: 'user', content: '12+34+56' }], tools, max_tokens: 32, temperature: 0 });
    expect(probe.message.tool_calls?.[0].function).toEqual({ name: 'add', arguments: '{"a":12,"b":34}' });
    const task = join(modelDir, 'eval/sums.yaml');
    const common = ['--task', task, '--limit', String(N), '--concurrency', '16'];
    const r1 = await llm('eval', ...common, '--endpoint', `http://${platform.httpAddress}`, '--out', join(dir, 'server-http'));
    expect(r1.err).toBeNull();
    const r2 = await llm('eval', ...common, '--grpc', platform.grpcAddress, '--out', join(dir, 'server-grpc'));
    expect(r2.err).toBeNull();
    const r3 = await llm('eval', ...common, '--endpoint', `http://${platform.httpAddress}`, '--chat-template', modelDir, '--out', join(dir, 'template'));
    expect(r3.err).toBeNull();
    const [sh, sg, tp] = ['server-http', 'server-grpc', 'template'].map((d) => readReport(join(dir, d, 'report.json')));
    expect(sh.metrics.exact_match.value).toBeGreaterThanOrEqual(0.95);
    expect(sh.metrics.trace_ok.value).toBe(1);
    expect(sg.samples.map((s) => s.output)).toEqual(sh.samples.map((s) => s.output));
    expect(tp.samples.map((s) => s.output)).toEqual(sh.samples.map((s) => s.output));
  });
});
