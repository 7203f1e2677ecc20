/**
 * One flag vocabulary across the platform, checked on the built programs as a user runs them
 * (`node apps/<app>/dist/src/main.js`, `llm`; `npm test` builds first):
 * - `--help` prints the settings (flag and LLM_ environment variable) and exits 0 within 2 s,
 *   without starting anything;
 * - an unknown flag exits non-zero with exactly one line naming it;
 * - the shared flags mean the same everywhere: --host, --grpc-port, --log-level, --tls-cert,
 *   --tls-key, --tls-ca on every app; --model on every app that reads a model; --http-port and the
 *   API key flags on the orchestrator (and `llm serve`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const APPS = ['orchestrator', 'tokenizer-service', 'router', 'attention-worker', 'kv-manager'] as const;
const SHARED = ['--host', '--grpc-port', '--log-level', '--tls-cert', '--tls-key', '--tls-ca'];

function run(args: string[]): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 10_000, env: { ...process.env, LLM_GRPC_PORT: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

const mainOf = (app: string) => join(root, 'apps', app, 'dist', 'src', 'main.js');

beforeAll(() => {
  for (const app of APPS) {
    if (!existsSync(mainOf(app))) throw new Error(`${mainOf(app)} is missing: run \`npm run build\` first (npm test does)`);
  }
});

describe.each(APPS)('%s', (app) => {
  it('--help prints every setting and exits 0 within 2 s, starting nothing', () => {
    const r = run([mainOf(app), '--help']);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.ms).toBeLessThan(2000);
    expect(r.stdout).toMatch(new RegExp(`^${app}: serves `));
    expect(r.stdout).not.toMatch(/serving|listening/i); // the ready lines never appear
    for (const flag of SHARED) expect(r.stdout).toMatch(new RegExp(`^  ${flag} V\\s+LLM_${flag.slice(2).toUpperCase().replace(/-/g, '_')}\\s`, 'm'));
    if (app !== 'kv-manager') expect(r.stdout).toMatch(/^ {2}--model V\s+LLM_MODEL\s/m);
    if (app === 'orchestrator') {
      for (const flag of ['--http-port V', '--api-key V[,V]', '--api-keys-file V', '--auth-exempt V[,V]']) expect(r.stdout).toContain(`  ${flag}`);
    }
    expect(r.stdout).not.toMatch(/--model-dir|\bPORT\b/);
  });

  it('an unknown flag or stray argument: one line naming it, non-zero exit', () => {
    for (const [args, said] of [
      [['--grpc-prot', '5'], `${app}: unknown flag --grpc-prot (run with --help for the flags this app takes)`],
      [['serve'], `${app}: unexpected argument 'serve' (settings are flags: run with --help)`],
    ] as const) {
      const r = run([mainOf(app), ...args]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`${said}\n`);
    }
  });
});

describe('llm', () => {
  const llm = join(root, 'apps', 'cli', 'bin', 'llm.js');

  it('--help and serve --help exit 0 within 2 s; serve lists the shared flags with their variables', () => {
    const top = run([llm, '--help']);
    expect(top.status).toBe(0);
    expect(top.ms).toBeLessThan(2000);
    const serve = run([llm, 'serve', '--help']);
    expect(serve.status).toBe(0);
    expect(serve.ms).toBeLessThan(2000);
    for (const flag of ['--model', '--grpc-port', '--http-port', '--log-level', '--api-key', '--api-keys-file', '--tls-cert', '--tls-key', '--tls-ca']) {
      expect(serve.stdout).toContain(flag);
      expect(serve.stdout.replace(/\s+/g, ' ')).toContain(`env: LLM_${flag.slice(2).toUpperCase().replace(/-/g, '_')})`);
    }
  });

  it('an unknown flag or command: one line, non-zero exit', () => {
    for (const args of [['serve', '--bogus'], ['bogus']]) {
      const r = run([llm, ...args]);
      expect(r.status).not.toBe(0);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^llm: unknown (option '--bogus'|command 'bogus') \(run `llm --help` for usage\)\n$/);
    }
  });
});
