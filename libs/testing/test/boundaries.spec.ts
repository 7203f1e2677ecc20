/**
 * The workspace's module boundaries are enforced: ESLint with @nx/enforce-module-boundaries rejects a
 * pure library importing NestJS / gRPC / Redis or the platform lib, and an app importing another app.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

jest.setTimeout(120_000);

const root = join(__dirname, '..', '..', '..');

/** Lints `code` as if it were `file`, with the workspace's ESLint config (eslint CLI, stdin). */
async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const res = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '--stdin', '--stdin-filename', join(root, file), '--format', 'json'],
    { cwd: root, input: code, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false' } },
  );
  if (!res.stdout.trim().startsWith('[')) throw new Error(`eslint did not run: ${res.stderr}`);
  const [result] = JSON.parse(res.stdout) as Array<{ messages: Array<{ ruleId: string; message: string }> }>;
  return result.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries', () => {
  it('reject NestJS, gRPC and Redis imports in a pure library', async () => {
    const errors = await boundaryErrors(
      'libs/tensor/src/forbidden.ts',
      "import { Injectable } from '@nestjs/common';\nimport { Server } from '@grpc/grpc-js';\nimport IORedis from 'ioredis';\nexport const x = [Injectable, Server, IORedis];\n",
    );
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/@nestjs\/common/);
  });

  it('reject the platform lib in a pure library', async () => {
    const errors = await boundaryErrors('libs/kv/src/forbidden.ts', "import { loadConfig } from '@llm/platform';\nexport const x = loadConfig;\n");
    expect(errors.length).toBeGreaterThan(0);
  });

  it('reject one service app importing another', async () => {
    const errors = await boundaryErrors(
      'apps/kv-manager/src/forbidden.ts',
      "import * as o from '@llm/orchestrator';\nexport const x = o;\n",
    );
    expect(errors.length).toBeGreaterThan(0);
  });

  it('accept a pure library importing a pure library, and an app importing libs', async () => {
    expect(await boundaryErrors('libs/model/src/allowed.ts', "import * as t from '@llm/tensor';\nexport const x = t;\n")).toEqual([]);
    expect(
      await boundaryErrors('apps/kv-manager/src/allowed.ts', "import * as p from '@llm/platform';\nimport * as k from '@llm/kv';\nexport const x = [p, k];\n"),
    ).toEqual([]);
  });
});
