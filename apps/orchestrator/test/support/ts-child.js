/*
 * Runs a TypeScript entry file in a child process without a build: `.ts` files are compiled on
 * require with @swc/core (the settings of jest.preset.js) and `@llm/<lib>` resolves to
 * libs/<lib>/src/index.ts, as in the tests. Usage: node ts-child.js <entry.ts>.
 * What it is not: a general loader (no source maps, no ESM).
 */
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const swc = require('@swc/core');

const root = path.resolve(__dirname, '../../../..');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const m = /^@llm\/([a-z-]+)$/.exec(request);
  return resolve.call(this, m ? path.join(root, 'libs', m[1], 'src/index.ts') : request, parent, ...rest);
};
require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, target: 'es2022', keepClassNames: true },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
require(path.resolve(process.argv[2]));
