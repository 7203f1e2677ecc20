module.exports = { ...require('../../jest.preset.js'), displayName: 'grammar', rootDir: __dirname };
