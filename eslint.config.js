// Lint: TypeScript rules plus Nx module boundaries, written out in full (the default
// config enforces nothing). Pure libraries may not import NestJS, gRPC, Redis or the
// platform lib; service apps may not import each other. The CLI is the composition root: it
// may import the service apps' public entries to run them embedded (in one process) or apart.
const nx = require('@nx/eslint-plugin');
const tseslint = require('typescript-eslint');

const transportPackages = [
  '@nestjs/*',
  '@grpc/*',
  'nice-grpc',
  'nice-grpc-*',
  'ioredis',
  'bullmq',
  'express',
  'testcontainers',
  'pino',
  'prom-client',
];

const servicePackages = ['@llm/orchestrator', '@llm/tokenizer-service', '@llm/router', '@llm/attention-worker', '@llm/kv-manager'];

module.exports = [
  { ignores: ['**/dist/**', '**/node_modules/**', 'libs/proto/src/gen/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allowCircularSelfDependency: false,
          banTransitiveDependencies: false,
          checkDynamicDependenciesExceptions: [],
          allow: [],
          depConstraints: [
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'kind:service', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'kind:root', onlyDependOnLibsWithTags: ['type:lib', 'kind:service'] },
            {
              sourceTag: 'scope:pure',
              onlyDependOnLibsWithTags: ['scope:pure'],
              bannedExternalImports: transportPackages,
            },
            { sourceTag: 'scope:contract', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'scope:platform', onlyDependOnLibsWithTags: ['scope:contract', 'scope:pure'] },
            { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['scope:contract', 'scope:platform', 'scope:pure'] },
          ],
        },
      ],
    },
  },
  {
    // The composition root (`llm serve`, embedded and distributed) imports the service apps'
    // public entries (and so does its reliability suite); Nx refuses imports of application projects
    // unless they are allowed by name.
    files: ['apps/cli/src/serve/**/*.ts', 'apps/cli/test/**/*.ts', 'apps/cli/reliability/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: servicePackages,
          depConstraints: [{ sourceTag: 'kind:root', onlyDependOnLibsWithTags: ['type:lib', 'kind:service'] }],
        },
      ],
    },
  },
];
