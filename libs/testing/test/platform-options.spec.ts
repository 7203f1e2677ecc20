/**
 * startPlatform's input checks, which run before any container starts (no Docker needed): a model
 * path that is not a Hugging Face directory, or one the containers' user (uid 1000) cannot read,
 * is one clear error naming the path and the fix.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlatform } from '../src';

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
