// Shared Jest settings: sources are transformed by swc (decorator metadata on, for NestJS),
// and workspace packages resolve to their TypeScript sources, so tests never need a build.
const path = require('path');

const root = __dirname;

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
          keepClassNames: true,
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  moduleNameMapper: {
    '^@llm/(orchestrator|tokenizer-service|router|attention-worker|kv-manager)$': path.join(root, 'apps/$1/src/index.ts'),
    '^@llm/([a-z-]+)$': path.join(root, 'libs/$1/src/index.ts'),
    '^@llm/([a-z-]+)/testing$': path.join(root, 'libs/$1/src/testing/index.ts'),
    '^@llm/platform/config$': path.join(root, 'libs/platform/src/config/index.ts'),
  },
  // The OTLP exporters load node:http with a dynamic import(), which Jest's module sandbox refuses;
  // compiled like the sources, it becomes a require() (tests that export spans in-process need it).
  transformIgnorePatterns: ['/node_modules/(?!@opentelemetry/otlp-exporter-base/)'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 60000,
};
