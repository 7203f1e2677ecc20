#!/usr/bin/env node
// Writes sums-heldout.jsonl: 200 sums of 3-5 distinct two-digit numbers drawn with seed 31337,
// leaving out every problem the training run saw. The trainer draws its rows with
// task.sample(rng) from Rng(--seed), in order, so replaying steps x batch-size draws gives them
// all (`llm train --task tooladd --batch-size 32 --steps 2500 --seed 1`, models/tool-use/README.md).
// Run from the repository root after `npm run build`: node models/tool-use/eval/make-heldout.js
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { drawOperands, getTask, Rng, sumQuestion, toolConversation } = require('../../../libs/training/dist/src/index.js');

const STEPS = 2500;
const BATCH = 32;
const SEED = 1;
const task = getTask('tooladd');
const rng = new Rng(SEED);
const seen = new Set();
for (let i = 0; i < STEPS * BATCH; i++) seen.add(task.sample(rng).prompt);
const held = new Rng(31337);
const lines = [];
let skipped = 0;
while (lines.length < 200) {
  const ops = drawOperands(held, 3 + held.int(3));
  if (seen.has(toolConversation(ops).prompt)) {
    skipped++;
    continue;
  }
  lines.push(JSON.stringify({ id: lines.length + 1, question: sumQuestion(ops), answer: String(ops.reduce((a, b) => a + b, 0)) }));
}
writeFileSync(join(__dirname, 'sums-heldout.jsonl'), `${lines.join('\n')}\n`);
process.stdout.write(`wrote 200 held-out problems (${skipped} drawn problems were training problems and left out)\n`);
