/**
 * startPlatform's input checks, which run before any container starts (no Docker needed): a model
 * path that is not a Hugging Face directory, or one the containers' user (uid 1000) cannot read,
 * is one clear error naming the path and the fix. With a Docker engine: an app image that cannot be
 * had fails start-up with a message naming the image and how to build it, and leaves no container.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlatform } from '../src';

const engineUp = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 }).status === 0;
const containers = () => spawnSync('docker', ['ps', '-aq', '--filter', 'label=llm-platform.service'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);

describe('startPlatform input checks', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'llm-platform-opts-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects a directory without config.json, naming it', async () => {
    await expect(startPlatform({ model: dir })).rejects.toThrow(`model dir ${dir} has no config.json (expected a Hugging Face model directory)`);
  });

  it('rejects a model directory the containers cannot read, with the chmod to run', async () => {
    const model = join(dir, 'model');
    mkdirSync(model);
    writeFileSync(join(model, 'config.json'), '{}');
    chmodSync(model, 0o700);
    await expect(startPlatform({ model })).rejects.toThrow(`model dir ${model} has mode 700; the containers run as uid 1000 and need o+rx (chmod -R a+rX ${model})`);
  });
});

(engineUp ? describe : describe.skip)('startPlatform with a missing image', () => {
  it('fails naming the image and the build script, and removes what it started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-platform-img-'));
    const model = join(dir, 'model');
    mkdirSync(model);
    writeFileSync(join(model, 'config.json'), '{}');
    chmodSync(model, 0o755);
    const before = containers();
    try {
      await expect(startPlatform({ model, image: 'llm-platform/no-such-image:missing', router: false })).rejects.toThrow(
        /kv-manager did not become healthy[\s\S]*image llm-platform\/no-such-image:missing; build it with deploy\/images\/build-app-image.sh/,
      );
      expect(containers().filter((id) => !before.includes(id))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
