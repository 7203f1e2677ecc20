/**
 * Every app's own main (the compiled entry each container runs) turns a user error at start-up
 * into one line on stderr naming what is wrong (the file, the flag, the port, the Redis URL) and
 * exit code 1: no NestJS stack trace, no ioredis stack trace per retry, no hang.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initModelDir } from '@llm/model';
import { freePort } from '@llm/testing';

jest.setTimeout(120_000);

const root = join(__dirname, '..', '..', '..');
let dir: string;
let busy: Server;
let busyPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llm-mains-'));
  initModelDir(join(dir, 'model'), 'llama', { seed: 1, overrides: { vocab_size: 300, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 32 } });
  initModelDir(join(dir, 'badtok'), 'llama', { seed: 1, overrides: { vocab_size: 300, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 32 } });
  writeFileSync(join(dir, 'badtok', 'tokenizer.json'), '{"model": {"type": "WordPiece"}}');
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  busyPort = (busy.address() as { port: number }).port;
});
afterAll(() => {
  busy.close();
  rmSync(dir, { recursive: true, force: true });
});

function runApp(app: string, env: Record<string, string>, args: string[] = []): Promise<{ code: number | null; stderr: string; ms: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [join(root, 'apps', app, 'dist', 'src', 'main.js'), ...args], { env: { ...process.env, LLM_HOST: '127.0.0.1', LLM_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b) => (stderr += b));
  const cap = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.once('exit', (code) => {
    clearTimeout(cap);
    resolve({ code, stderr: stderr.trim(), ms: Date.now() - t0 });
  }));
}

/** stderr lines that are not NestJS's own start-up progress lines. */
const errorLines = (s: string) => s.split('\n').filter((l) => l.trim() && !/\[Nest\]/.test(l));

it.each([
  ['tokenizer-service', 'a tokenizer.json it cannot use', () => ({ LLM_GRPC_PORT: '0', LLM_MODEL: join(dir, 'badtok') }), () => new RegExp(`^tokenizer-service: ${join(dir, 'badtok', 'tokenizer.json')}: model.type "WordPiece" is not supported`), 1],
  ['attention-worker', 'a directory without config.json', () => ({ LLM_GRPC_PORT: '0', LLM_MODEL: join(dir, 'nope') }), () => new RegExp(`^attention-worker: cannot load model directory ${join(dir, 'nope')}: model dir .* does not exist`), 1],
  ['kv-manager', 'a busy port', () => ({ LLM_GRPC_PORT: String(busyPort) }), () => new RegExp(`^kv-manager: gRPC port ${busyPort} on 127.0.0.1 is already in use`), 1],
  // A bad setting is a usage error: exit 2, as for every app's flags (libs/platform's appArgs).
  ['kv-manager', 'a bad flag value', () => ({ LLM_GRPC_PORT: 'x' }), () => /^kv-manager: LLM_GRPC_PORT .* is 'x': expected an integer/, 2],
  ['orchestrator', 'a scheduler role without Redis', () => ({ LLM_MODEL: join(dir, 'model'), LLM_ROLE: 'scheduler' }), () => /^orchestrator: --role scheduler needs --redis-url/, 1],
])('%s with %s: one line and a non-zero exit', async (app, _what, env, pattern, code) => {
  const r = await runApp(app, env());
  expect(r.code).toBe(code);
  expect(errorLines(r.stderr)).toHaveLength(1);
  expect(errorLines(r.stderr)[0]).toMatch(pattern());
});

it('orchestrator with a Redis that does not answer: one line after the bounded wait, not a stack trace per retry', async () => {
  const r = await runApp('orchestrator', { LLM_MODEL: join(dir, 'model'), LLM_ROLE: 'api', LLM_REDIS_URL: `redis://127.0.0.1:${await freePort()}`, LLM_REDIS_WAIT_MS: '1500', LLM_GRPC_PORT: '0', LLM_HTTP_PORT: '-1' });
  expect(r.code).toBe(1);
  expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^orchestrator: Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable after 2 s \(ECONNREFUSED\)/)]);
  expect(r.ms).toBeLessThan(15_000);
});
