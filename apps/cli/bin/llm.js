#!/usr/bin/env node
// The `llm` command. Runs the compiled CLI (npm install / npm run build compile it).
const path = require('path');
const fs = require('fs');
const main = path.join(__dirname, '..', 'dist', 'src', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write('llm: the CLI is not built yet; run `npm run build` in the repository root first\n');
  process.exit(1);
}
require(main);
