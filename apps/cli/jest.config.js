// PGlite's CommonJS build (the `llm rag` store) loads Node built-ins with dynamic import(), which
// Jest's module sandbox refuses without --experimental-vm-modules; swc turns those into require().
const preset = require('../../jest.preset.js');

module.exports = {
  ...preset,
  displayName: 'cli',
  rootDir: __dirname,
  transform: { ...preset.transform, '^.+/@electric-sql/pglite[^/]*/dist/.+\\.cjs$': preset.transform['^.+\\.(t|j)s$'] },
  transformIgnorePatterns: ['/node_modules/(?!@electric-sql/pglite)'],
};
