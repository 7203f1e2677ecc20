/*
 * `llm eval --task FILE (--endpoint URL | --grpc ADDR)`: run an evaluation task (tasks as data,
 * see libs/harness/README.md) with a progress bar; write OUT/results.jsonl (resumable),
 * OUT/report.json and OUT/report.html; print the headline metric with its standard error.
 * `llm eval compare A B`: the difference of two reports, metric by metric, and whether it is
 * significant.
 *
 * OUT defaults to eval-runs/<task>-<endpoint>, so running the same command again resumes.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { compareReports, EvalInterruptedError, formatComparison, loadTaskFile, readReport, runEval, summaryLine, type Tool } from '@llm/harness';
import { CliError } from '../errors';
import { collect, connectClient, progressLine, type ClientFlags } from '../harness/connect';
import { connectMcpTools } from '../harness/mcp-tools';
import type { RegisterCommand } from './index';

interface EvalFlags extends ClientFlags {
  task?: string;
  out?: string;
  limit?: string;
  cache: boolean;
  cacheDir?: string;
  mcp: string[];
  mcpUrl: string[];
}

const slug = (s: string) => s.replace(/^[a-z]+:\/\//, '').replace(/[^A-Za-z0-9.-]+/g, '_').replace(/^_+|_+$/g, '');

async function runEvalCommand(f: EvalFlags): Promise<void> {
  if (!f.task) throw new CliError('--task FILE is required (a YAML or JSON task file; see libs/harness/README.md)');
  let task;
  try {
    task = loadTaskFile(f.task);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const limit = f.limit === undefined ? undefined : Number(f.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new CliError(`--limit must be a positive integer, got '${f.limit}'`);
  const { client, close } = connectClient(f);
  const out = resolve(f.out ?? `eval-runs/${slug(task.name)}-${slug(f.endpoint ?? `grpc-${f.grpc}`)}${f.model ? `-${slug(f.model)}` : ''}`);
  let tools: Tool[] = [];
  let closeMcp = async () => undefined as void;
  const bar = progressLine();
  try {
    if (f.mcp.length || f.mcpUrl.length) ({ tools, close: closeMcp } = await connectMcpTools(f.mcp, f.mcpUrl));
    const rep = await runEval({
      task, client, model: f.model, outDir: out, limit, concurrency: f.concurrency ? Number(f.concurrency) : 8, extraTools: tools,
      cacheDir: f.cache ? (f.cacheDir ? resolve(f.cacheDir) : undefined) : null,
      onProgress: (p) => {
        const eta = Number.isFinite(p.etaMs) ? ` ETA ${Math.ceil(p.etaMs / 1000)}s` : '';
        bar(p.total ? p.done / p.total : 1, `${p.done}/${p.total} samples, correct ${(100 * p.correct).toFixed(1)}%${p.resumed ? `, ${p.resumed} resumed` : ''}${p.cacheHits ? `, ${p.cacheHits} cached` : ''}${eta}`);
      },
    });
    process.stdout.write(`${summaryLine(rep)}\n`);
    for (const [name, m] of Object.entries(rep.metrics)) process.stdout.write(`  ${name.padEnd(14)} ${m.value.toFixed(4)} ± ${m.stderr.toFixed(4)} (n=${m.n})\n`);
    process.stdout.write(`wrote ${out}/report.json and ${out}/report.html\n`);
  } catch (err) {
    if (err instanceof EvalInterruptedError) throw new CliError(err.message, 2);
    throw err instanceof CliError ? err : new CliError((err as Error).message);
  } finally {
    close();
    await closeMcp();
  }
}

function runCompare(a: string, b: string, f: { alpha: string; json?: boolean }): void {
  const alpha = Number(f.alpha);
  if (!(alpha > 0 && alpha < 1)) throw new CliError(`--alpha must be between 0 and 1, got '${f.alpha}'`);
  let c;
  try {
    c = compareReports(readReport(resolveReport(a)), readReport(resolveReport(b)), alpha);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  process.stdout.write(f.json ? `${JSON.stringify(c, null, 2)}\n` : `${formatComparison(c)}\n`);
}

/** A run folder or its report.json. */
function resolveReport(p: string): string {
  return p.endsWith('.json') ? p : `${p.replace(/\/+$/, '')}/report.json`;
}

export const registerEval: RegisterCommand = (program: Command) => {
  const cmd = program
    .command('eval')
    .description('evaluate a model endpoint on a task file (report JSON + HTML); `llm eval compare A B` compares two runs')
    .option('--task <file>', 'YAML or JSON task file')
    .option('--endpoint <url>', 'OpenAI-compatible HTTP endpoint, e.g. http://127.0.0.1:8080')
    .option('--grpc <host:port>', "the platform's gRPC Inference API")
    .option('--model <name>', 'model name to send')
    .option('--chat-template <dir>', 'chat over completions with this model directory\'s chat template (agent tasks without server-side tools)')
    .option('--out <dir>', 'run folder (default eval-runs/<task>-<endpoint>; an existing one is resumed)')
    .option('--limit <n>', 'only the first N samples')
    .option('--concurrency <n>', 'requests in flight', '8')
    .option('--retries <n>', 'retries of a failed request', '3')
    .option('--timeout-ms <n>', 'time limit of one request', '120000')
    .option('--no-cache', 'do not use the response cache')
    .option('--cache-dir <dir>', 'response cache folder (default OUT/cache)')
    .option('--mcp <command>', 'tools for agent tasks from an MCP server started with this command (repeatable)', collect, [])
    .option('--mcp-url <url>', 'tools for agent tasks from a Streamable HTTP MCP server (repeatable)', collect, [])
    .action((f: EvalFlags) => runEvalCommand(f));
  cmd
    .command('compare <a> <b>')
    .description('compare two eval runs (folders or report.json files): B - A per metric, standard error, p-value')
    .option('--alpha <x>', 'significance level', '0.05')
    .option('--json', 'print the comparison as JSON')
    .action((a: string, b: string, f: { alpha: string; json?: boolean }) => runCompare(a, b, f));
};
