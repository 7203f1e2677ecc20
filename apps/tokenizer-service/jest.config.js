module.exports = { ...require('../../jest.preset.js'), displayName: 'tokenizer-service', rootDir: __dirname };
