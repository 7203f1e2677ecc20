/**
 * `nx run cli:reliability` (small scale) / `nx run cli:reliability --full` (issue 16's full
 * scale): runs the reliability suite against real processes and a real Redis, prints progress and
 * then the one table, and exits non-zero when any scenario missed the bar.
 *
 * What it is not: the CI entry (apps/cli/test/reliability.spec.ts runs the small scale there).
 */
import { formatTable } from './table';
import { runSuite, SCALES } from './suite';

async function main(): Promise<void> {
  const scale = process.argv.includes('--full') ? SCALES.full : SCALES.small;
  const say = (l: string) => process.stderr.write(`${l}\n`);
  say(`[reliability] ${scale.name} scale`);
  const t0 = Date.now();
  const { rows, failures } = await runSuite(scale, say);
  process.stdout.write(`\nReliability suite, ${scale.name} scale (${((Date.now() - t0) / 1000).toFixed(0)} s)\n\n${formatTable(rows)}\n\n`);
  if (failures.length) {
    process.stdout.write(`FAILED:\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
    process.exitCode = 1;
  } else process.stdout.write('passed: every scenario met the bar\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`reliability: ${(err as Error).message}\n`);
  process.exit(1);
});
