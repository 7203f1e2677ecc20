/**
 * `llm serve --distributed` as a user runs it (the real `llm` binary in a child process; issue 16,
 * observed defect 4 and the supervision requirements):
 * - a busy port, an unreachable Redis and a bad model directory each give one line and a non-zero
 *   exit within a bounded time, with no process left behind;
 * - a child killed with SIGKILL is restarted with one log line and the platform serves again;
 * - the first SIGINT drains (a stream in flight finishes), then everything exits; a second SIGINT
 *   stops at once; a parent killed with SIGKILL takes its children with it.
 * Every process this test starts carries a tag in its environment, and only those are looked for
 * or signalled (other engineers' processes share the machine).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initModelDir } from '@llm/model';
import { connectGrpc } from '@llm/platform';
import { inference } from '@llm/proto';
import { freePort } from '@llm/testing';

jest.setTimeout(240_000);

const LLM = join(__dirname, '..', 'bin', 'llm.js');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llm-lifecycle-'));
  initModelDir(join(dir, 'model'), 'llama', { seed: 3, overrides: { vocab_size: 300, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 64, max_position_embeddings: 256 } });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  child: ChildProcess;
  tag: string;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

function serve(...args: string[]): Run {
  const tag = randomUUID();
  const child = spawn(process.execPath, [LLM, 'serve', '--distributed', '--backend', 'ts', '--threads', '1', '--kv-cache-gib', '0.01', ...args], {
    env: { ...process.env, LLM_TEST_TAG: tag, LLM_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (b) => (out += b));
  child.stderr?.on('data', (b) => {
    err += b;
    const m = /AOF in (\S+)\)/.exec(err);
    if (m) redisDirs.set(tag, m[1]);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, tag, out: () => out, err: () => err, exited };
}

const redisDirs = new Map<string, string>();

/**
 * Pids of live processes whose environment carries `tag` (only processes this test started), and
 * the redis-server of that serve, found by its working directory (redis-server overwrites its
 * environment block when it sets its process title).
 */
function tagged(tag: string): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  const redisDir = redisDirs.get(tag);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ours = readFileSync(`/proc/${name}/environ`, 'utf8').includes(`LLM_TEST_TAG=${tag}`) || (redisDir !== undefined && readlinkSync(`/proc/${name}/cwd`) === redisDir);
      if (!ours) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue; // a zombie has exited
      out.push({ pid: Number(name), cmd: readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const errLines = (r: Run) => r.err().split('\n').filter((l) => l.trim() !== '');

describe('start-up errors are one line, a non-zero exit, and nothing left running', () => {
  let busy: Server;
  let busyPort: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(() => busy.close());

  it('a busy port', async () => {
    const r = serve('--model', join(dir, 'model'), '--grpc-port', String(busyPort), '--http-port', '-1');
    expect(await r.exited).not.toBe(0);
    expect(errLines(r)).toEqual([`llm: port ${busyPort} on 127.0.0.1 is already in use (pass another --grpc-port, or stop what holds it)`]);
    expect(r.out()).not.toMatch(/Try:/);
    expect(tagged(r.tag)).toEqual([]);
  });

  it('a Redis that does not answer, within a bounded wait', async () => {
    const t0 = Date.now();
    const r = serve('--model', join(dir, 'model'), '--grpc-port', '0', '--http-port', '-1', '--redis-url', `redis://127.0.0.1:${await freePort()}`);
    expect(await r.exited).not.toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(errLines(r)).toHaveLength(1);
    expect(errLines(r)[0]).toMatch(/^llm: Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable after 10 s \(ECONNREFUSED\)/);
    expect(tagged(r.tag)).toEqual([]);
  });

  it('a bad model directory', async () => {
    const r = serve('--model', join(dir, 'nope'), '--grpc-port', '0');
    expect(await r.exited).not.toBe(0);
    expect(errLines(r)).toEqual([`llm: model dir ${join(dir, 'nope')} has no config.json (expected a Hugging Face model directory or a .gguf file)`]);
    expect(tagged(r.tag)).toEqual([]);
  });
});

describe('supervision and shutdown', () => {
  async function started(): Promise<{ r: Run; grpc: string; http: string }> {
    const r = serve('--model', join(dir, 'model'), '--grpc-port', '0', '--http-port', '0');
    await until(() => /Try:/.test(r.out()) || r.child.exitCode !== null, 'the banner', 120_000);
    expect(r.child.exitCode).toBeNull();
    const grpc = /gRPC {2}(\S+)/.exec(r.out())![1];
    const http = /HTTP {2}http:\/\/(\S+)/.exec(r.out())![1]; // the port the api bound and reported
    return { r, grpc, http };
  }

  const complete = async (http: string, maxTokens = 4) =>
    fetch(`http://${http}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: [1, 2, 3], max_tokens: maxTokens, temperature: 0, ignore_eos: true }), signal: AbortSignal.timeout(60_000) });

  it('restarts a killed child with one log line and serves again; the first SIGINT lets a stream in flight finish', async () => {
    const { r, grpc, http } = await started();
    try {
      expect((await complete(http)).status).toBe(200);
      const worker = tagged(r.tag).find((p) => p.cmd.includes('attention-worker/dist/src/main.js'))!;
      process.kill(worker.pid, 'SIGKILL');
      await until(() => /attention-worker exited \(signal SIGKILL\); restarting in 0\.5 s \(restart 1\)/.test(r.err()), 'the restart line', 10_000);
      const t0 = Date.now();
      await until(async () => (await complete(http).catch(() => undefined))?.status === 200, 'a completion after the restart', 30_000);
      expect(Date.now() - t0).toBeLessThan(30_000);
      // A stream in flight when SIGINT arrives finishes; then everything stops.
      const conn = connectGrpc(inference.InferenceDefinition, grpc);
      const ids: number[] = [];
      const stream = (async () => {
        for await (const d of conn.client.generate({ promptTokenIds: [4, 5, 6], sampling: { temperature: 0, maxTokens: 120, ignoreEos: true } })) ids.push(...d.tokenIds);
      })();
      await until(() => ids.length > 2, 'the stream to start', 30_000);
      r.child.kill('SIGINT');
      await stream;
      conn.close();
      expect(ids).toHaveLength(120);
      expect(await r.exited).toBe(0);
      expect(r.err()).toMatch(/SIGINT: draining/);
      await until(() => tagged(r.tag).length === 0, 'every child to exit', 15_000);
    } finally {
      for (const p of tagged(r.tag)) process.kill(p.pid, 'SIGKILL');
    }
  });

  it('a second SIGINT stops at once, and a parent killed with SIGKILL leaves no child behind', async () => {
    const a = await started();
    const b = await started();
    try {
      a.r.child.kill('SIGINT');
      await new Promise((res) => setTimeout(res, 100));
      a.r.child.kill('SIGINT');
      const t0 = Date.now();
      await a.r.exited;
      expect(Date.now() - t0).toBeLessThan(5000);
      await until(() => tagged(a.r.tag).length === 0, 'no child of the stopped serve', 5000);
      b.r.child.kill('SIGKILL');
      await until(() => tagged(b.r.tag).length === 0, 'no orphan of the killed serve', 20_000);
    } finally {
      for (const p of [...tagged(a.r.tag), ...tagged(b.r.tag)]) process.kill(p.pid, 'SIGKILL');
    }
  });
});
