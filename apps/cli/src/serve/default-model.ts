/**
 * The default model of `llm serve` / `npm start`: the model directory the repository ships at
 * models/default (trained by the project itself with `llm train`), or, when that is absent, a
 * small random-weight llama model written on first start into .models/default with
 * `llm init-model`'s code (no network either way).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initModelDir } from '@llm/model';

/** The repository root (apps/cli/dist/src/serve -> up five, apps/cli/src/serve -> up four). */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'apps')) && existsSync(join(dir, 'libs'))) return dir;
    dir = resolve(dir, '..');
  }
  return process.cwd();
}

export function resolveDefaultModel(say: (line: string) => void): string {
  const root = repoRoot();
  const shipped = join(root, 'models', 'default');
  if (existsSync(join(shipped, 'config.json'))) return shipped;
  const generated = join(root, '.models', 'default');
  if (existsSync(join(generated, 'config.json'))) return generated;
  say(`no model at ${shipped}: writing a random-weight llama model to ${generated} (once)`);
  initModelDir(generated, 'llama', { seed: 1 });
  return generated;
}
