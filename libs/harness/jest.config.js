// PGlite's CommonJS build loads Node built-ins with dynamic import(), which Jest's module
// sandbox refuses without --experimental-vm-modules; swc turns those into require() here.
const preset = require('../../jest.preset.js');

module.exports = {
  ...preset,
  displayName: 'harness',
  rootDir: __dirname,
  transform: { ...preset.transform, '^.+/@electric-sql/pglite[^/]*/dist/.+\\.cjs$': preset.transform['^.+\\.(t|j)s$'] },
  transformIgnorePatterns: ['/node_modules/(?!@electric-sql/pglite)'],
};
