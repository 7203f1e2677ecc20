module.exports = { ...require('../../jest.preset.js'), displayName: 'attention-worker', rootDir: __dirname };
