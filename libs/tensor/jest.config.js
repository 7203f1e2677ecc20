module.exports = { ...require('../../jest.preset.js'), displayName: 'tensor', rootDir: __dirname };
