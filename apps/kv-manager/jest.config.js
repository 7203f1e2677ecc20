module.exports = { ...require('../../jest.preset.js'), displayName: 'kv-manager', rootDir: __dirname };
