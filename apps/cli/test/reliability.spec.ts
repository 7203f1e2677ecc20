/**
 * The reliability suite at its small scale, in the normal test run (CI exercises it): load,
 * disconnects, a SIGKILL of every service and of Redis, and fuzzing, against `llm serve
 * --distributed`'s real processes and Redis (apps/cli/reliability). Every scenario must meet the
 * bar of issue 16; the table is printed either way. The full scale runs with
 * `npx nx run cli:reliability --full`.
 */
import { formatTable } from '../reliability/table';
import { runSuite, SCALES } from '../reliability/suite';

jest.setTimeout(600_000);

it('meets the bar at small scale: no error under load, no leak after disconnects, no hung or lost request under faults, no 5xx under fuzzing', async () => {
  const lines: string[] = [];
  const { rows, failures } = await runSuite(SCALES.small, (l) => lines.push(l));
  process.stdout.write(`\nReliability suite, small scale\n\n${formatTable(rows)}\n\n`);
  expect(rows.length).toBe(13);
  expect(failures).toEqual([]);
});
