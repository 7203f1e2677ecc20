module.exports = { ...require('../../jest.preset.js'), displayName: 'moe', rootDir: __dirname };
