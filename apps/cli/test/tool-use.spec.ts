/** @jest-environment ../../libs/tensor/src/onnx/ort-test-environment.js */
/*
 * The shipped tool-use model (models/tool-use) driven by the agent harness through the platform:
 * the conversation and `tools` are rendered with the model's own chat template, sent to the
 * platform's completions API (HTTP, and gRPC Complete), and the generated <tool_call> blocks are
 * parsed and executed by the harness. Held-out sums of 3-5 numbers are solved (>= 95%) with every
 * tool call valid, and the traces replay to the same answers.
 * 40 problems over HTTP and 20 over gRPC here; HARNESS_FULL_EVAL=1 runs all 200 over HTTP.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addTool, JsonlTrace, OpenAiHttpClient, readReport, replayTrace, runAgent, TemplateChatClient, ToolRegistry } from '@llm/harness';
import { startEmbedded, type EmbeddedPlatform } from '../src/serve/embedded';
import { llm } from './support/llm';

jest.setTimeout(300_000);

const root = join(__dirname, '../../..');
const modelDir = join(root, 'models/tool-use');
const taskFile = join(modelDir, 'eval/sums.yaml');
const N = process.env.HARNESS_FULL_EVAL ? 200 : 40;
let dir: string;
let platform: EmbeddedPlatform;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-tool-use-'));
  platform = await startEmbedded({ modelDir, host: '127.0.0.1', grpcPort: 0, httpPort: 0, backend: 'ort', threads: 1, kvCacheGib: 0.02, blockSize: 16, maxNumSeqs: 64, maxNumBatchedTokens: 2048 });
});
afterAll(async () => {
  await platform?.close();
  rmSync(dir, { recursive: true, force: true });
});

it(`solves >= 95% of ${N} held-out sums through the platform (HTTP), every tool call valid`, async () => {
  const out = join(dir, 'http');
  const r = await llm('eval', '--task', taskFile, '--endpoint', `http://${platform.httpAddress}`, '--chat-template', modelDir, '--out', out, '--limit', String(N), '--concurrency', '16');
  expect(r.err).toBeNull();
  const rep = readReport(join(out, 'report.json'));
  expect(rep.metrics.exact_match.value).toBeGreaterThanOrEqual(0.95);
  expect(rep.metrics.trace_ok.value).toBe(1);
  for (const s of rep.samples) {
    // The expected answer is the sum of the question's numbers, and the agent used add (no arithmetic of its own).
    expect(s.target).toBe(String(s.prompt.split('+').map(Number).reduce((a, b) => a + b, 0)));
    expect(s.agent!.tool_calls.invalid).toBe(0);
    expect(s.agent!.tool_calls.total).toBe(s.prompt.split('+').length - 1);
  }
});

it('solves them over the gRPC Inference API too', async () => {
  const out = join(dir, 'grpc');
  const r = await llm('eval', '--task', taskFile, '--grpc', platform.grpcAddress, '--chat-template', modelDir, '--out', out, '--limit', '20');
  expect(r.err).toBeNull();
  const grpc = readReport(join(out, 'report.json'));
  const http = readReport(join(dir, 'http', 'report.json'));
  expect(grpc.samples.map((s) => s.output)).toEqual(http.samples.slice(0, 20).map((s) => s.output));
});

it('records traces that replay to the same answers', async () => {
  const client = TemplateChatClient.fromModelDir(new OpenAiHttpClient({ baseUrl: `http://${platform.httpAddress}` }), modelDir);
  const file = join(dir, 'trace.jsonl');
  const lines = readFileSync(join(modelDir, 'eval/sums-heldout.jsonl'), 'utf8').trim().split('\n').slice(0, 5);
  const answers: Array<string | null> = [];
  for (const line of lines) {
    const { question } = JSON.parse(line) as { question: string };
    const r = await runAgent(question, { client, tools: new ToolRegistry([addTool]), trace: new JsonlTrace(file), sampling: { temperature: 0, max_tokens: 32 }, budgets: { maxSteps: 8 } });
    answers.push(r.answer);
  }
  const replayed = await replayTrace(file, { tools: new ToolRegistry([addTool]) });
  expect(replayed.map((r) => r.result.answer)).toEqual(answers);
  expect(replayed.every((r) => r.same)).toBe(true);
});
