/*
 * Evaluation tasks as data: a YAML or JSON task file next to a JSONL file of samples.
 *
 *   name: add2
 *   samples: add2.jsonl             # relative to the task file; one JSON object per line
 *   request: generate_until         # generate_until | loglikelihood | multiple_choice | agent
 *   prompt: "{{ prompt }}"          # Jinja over the sample's fields
 *   target: "{{ answer }}"          # the expected answer (or the continuation to score)
 *   choices: "{{ choices }}"        # multiple_choice: a field holding the options ...
 *   gold: "{{ label }}"             #   ... and the index of the right one
 *   fewshot: { count: 3, samples: train.jsonl, separator: "\n\n", seed: 1 }
 *   generation: { max_tokens: 8, temperature: 0, stop: ["\n"] }
 *   extract: { regex: "(\\d+)", group: 1 }   # or { first_number: true }
 *   metrics: [exact_match, { numeric: { tolerance: 0.01 } }, { pass_at_k: [1, 5] }, perplexity, accuracy, trace_ok]
 *   repeats: 1
 *   seed: 1234
 *   agent: { system: "...", tools: [add], max_steps: 12, trace_checks: { all_calls_valid: true, required_tools: [add] } }
 *
 * Every field is checked here, once: an unknown field (at any level) is refused with one message
 * that names it and lists the known ones, so a typo never silently changes what is measured.
 * What it is not: the runner (runner.ts) or the request solvers (solvers.ts).
 * Reference: lm-evaluation-harness task YAML (doc_to_text, doc_to_target, output_type,
 * num_fewshot, generation_kwargs, filters, metric_list).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export type RequestType = 'generate_until' | 'loglikelihood' | 'multiple_choice' | 'agent';
export const REQUEST_TYPES: RequestType[] = ['generate_until', 'loglikelihood', 'multiple_choice', 'agent'];

export type MetricSpec =
  | { kind: 'exact_match' }
  | { kind: 'numeric'; tolerance: number; relative: boolean }
  | { kind: 'regex_match'; pattern: string }
  | { kind: 'pass_at_k'; k: number[] }
  | { kind: 'perplexity' }
  | { kind: 'accuracy' }
  | { kind: 'trace_ok' };

export interface TraceChecks {
  all_calls_valid?: boolean;
  max_tool_calls?: number;
  required_tools?: string[];
}

export interface TaskSpec {
  name: string;
  description: string;
  file: string;
  samplesFile: string;
  request: RequestType;
  prompt: string;
  target: string;
  choices?: string;
  gold?: string;
  fewshot: { count: number; samplesFile?: string; separator: string; seed: number };
  generation: { max_tokens: number; temperature: number; top_p?: number; stop: string[] };
  extract: { kind: 'none' } | { kind: 'regex'; regex: string; group: number } | { kind: 'first_number' };
  metrics: MetricSpec[];
  repeats: number;
  seed: number;
  agent?: { system?: string; tools: string[]; max_steps: number; max_tokens?: number; trace_checks: TraceChecks };
  /** Hash of everything that changes results (a resumed run must have the same). */
  hash: string;
}

export class TaskFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskFileError';
  }
}

type Obj = Record<string, unknown>;

const TOP = ['name', 'description', 'samples', 'request', 'prompt', 'target', 'choices', 'gold', 'fewshot', 'generation', 'extract', 'metrics', 'repeats', 'seed', 'agent'];

class Reader {
  constructor(readonly file: string) {}

  fail(msg: string): never {
    throw new TaskFileError(`task file ${this.file}: ${msg}`);
  }

  fields(o: unknown, known: string[], where: string): Obj {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) this.fail(`${where || 'the file'} must be a mapping of fields`);
    const unknown = Object.keys(o as Obj).filter((k) => !known.includes(k));
    if (unknown.length > 0) {
      const path = (k: string) => (where ? `${where}.${k}` : k);
      this.fail(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${path(k)}'`).join(', ')} (known${where ? ` in ${where}` : ''}: ${known.join(', ')})`);
    }
    return o as Obj;
  }

  str(o: Obj, k: string, where: string, fallback?: string): string {
    const v = o[k];
    if (v === undefined || v === null) {
      if (fallback === undefined) this.fail(`'${where}${k}' is required`);
      return fallback;
    }
    if (typeof v !== 'string') this.fail(`'${where}${k}' must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  num(o: Obj, k: string, where: string, fallback: number, opts: { int?: boolean; min?: number } = {}): number {
    const v = o[k];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v)) || (opts.min !== undefined && v < opts.min)) {
      this.fail(`'${where}${k}' must be ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  strList(o: Obj, k: string, where: string): string[] {
    const v = o[k];
    if (v === undefined || v === null) return [];
    if (typeof v === 'string') return [v];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.fail(`'${where}${k}' must be a string or a list of strings`);
    return v;
  }
}

function metricSpec(r: Reader, m: unknown, i: number): MetricSpec {
  const where = `metrics[${i}]`;
  if (typeof m === 'string') {
    if (m === 'exact_match' || m === 'perplexity' || m === 'accuracy' || m === 'trace_ok') return { kind: m };
    if (m === 'numeric') return { kind: 'numeric', tolerance: 0, relative: false };
    r.fail(`${where}: unknown metric '${m}' (known: exact_match, numeric, regex_match, pass_at_k, perplexity, accuracy, trace_ok)`);
  }
  const o = r.fields(m, ['numeric', 'regex_match', 'pass_at_k'], where);
  const key = Object.keys(o)[0];
  if (Object.keys(o).length !== 1) r.fail(`${where} must name one metric`);
  if (key === 'numeric') {
    const n = r.fields(o.numeric ?? {}, ['tolerance', 'relative'], `${where}.numeric`);
    const relative = n.relative ?? false;
    if (typeof relative !== 'boolean') r.fail(`'${where}.numeric.relative' must be true or false`);
    return { kind: 'numeric', tolerance: r.num(n, 'tolerance', `${where}.numeric.`, 0, { min: 0 }), relative };
  }
  if (key === 'regex_match') {
    if (typeof o.regex_match !== 'string') r.fail(`'${where}.regex_match' must be a regular expression string`);
    checkRegex(r, o.regex_match, `${where}.regex_match`);
    return { kind: 'regex_match', pattern: o.regex_match };
  }
  const k = Array.isArray(o.pass_at_k) ? o.pass_at_k : [o.pass_at_k];
  if (!k.every((x) => Number.isInteger(x) && (x as number) >= 1)) r.fail(`'${where}.pass_at_k' must be a positive integer or a list of them`);
  return { kind: 'pass_at_k', k: k as number[] };
}

function checkRegex(r: Reader, pattern: string, where: string): void {
  try {
    new RegExp(pattern);
  } catch (err) {
    r.fail(`'${where}' is not a valid regular expression: ${(err as Error).message}`);
  }
}

function readAgent(r: Reader, a: unknown): TaskSpec['agent'] {
  if (a === undefined || a === null) return undefined;
  const o = r.fields(a, ['system', 'tools', 'max_steps', 'max_tokens', 'trace_checks'], 'agent');
  const tc = r.fields(o.trace_checks ?? {}, ['all_calls_valid', 'max_tool_calls', 'required_tools'], 'agent.trace_checks');
  if (tc.all_calls_valid !== undefined && typeof tc.all_calls_valid !== 'boolean') r.fail("'agent.trace_checks.all_calls_valid' must be true or false");
  return {
    system: o.system === undefined ? undefined : r.str(o, 'system', 'agent.'),
    tools: r.strList(o, 'tools', 'agent.'),
    max_steps: r.num(o, 'max_steps', 'agent.', 16, { int: true, min: 1 }),
    max_tokens: o.max_tokens === undefined ? undefined : r.num(o, 'max_tokens', 'agent.', 0, { int: true, min: 1 }),
    trace_checks: {
      all_calls_valid: tc.all_calls_valid as boolean | undefined,
      max_tool_calls: tc.max_tool_calls === undefined ? undefined : r.num(tc, 'max_tool_calls', 'agent.trace_checks.', 0, { int: true, min: 0 }),
      required_tools: tc.required_tools === undefined ? undefined : r.strList(tc, 'required_tools', 'agent.trace_checks.'),
    },
  };
}

/** Parses a task file's text (YAML, of which JSON is a subset). */
export function parseTaskFile(text: string, file: string): TaskSpec {
  const r = new Reader(file);
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    r.fail(`not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const o = r.fields(raw, TOP, '');
  const request = r.str(o, 'request', '', 'generate_until') as RequestType;
  if (!REQUEST_TYPES.includes(request)) r.fail(`'request' must be one of ${REQUEST_TYPES.join(', ')}, got '${request}'`);
  const base = dirname(resolve(file));
  const fs = r.fields(o.fewshot ?? {}, ['count', 'samples', 'separator', 'seed'], 'fewshot');
  const gen = r.fields(o.generation ?? {}, ['max_tokens', 'temperature', 'top_p', 'stop'], 'generation');
  const ex = o.extract === undefined || o.extract === null || o.extract === 'none' ? {} : r.fields(o.extract, ['regex', 'group', 'first_number'], 'extract');
  let extract: TaskSpec['extract'] = { kind: 'none' };
  if (ex.regex !== undefined) {
    const regex = r.str(ex, 'regex', 'extract.');
    checkRegex(r, regex, 'extract.regex');
    extract = { kind: 'regex', regex, group: r.num(ex, 'group', 'extract.', 0, { int: true, min: 0 }) };
  } else if (ex.first_number) extract = { kind: 'first_number' };
  const metricsRaw: unknown = o.metrics ?? ['exact_match'];
  if (!Array.isArray(metricsRaw) || metricsRaw.length === 0) r.fail("'metrics' must be a non-empty list");
  const metrics: MetricSpec[] = (metricsRaw as unknown[]).map((m, i) => metricSpec(r, m, i));
  const spec: Omit<TaskSpec, 'hash'> = {
    name: r.str(o, 'name', ''),
    description: r.str(o, 'description', '', ''),
    file: resolve(file),
    samplesFile: resolve(base, r.str(o, 'samples', '')),
    request,
    prompt: r.str(o, 'prompt', ''),
    target: r.str(o, 'target', '', request === 'multiple_choice' ? '' : undefined),
    choices: o.choices === undefined ? undefined : r.str(o, 'choices', ''),
    gold: o.gold === undefined ? undefined : r.str(o, 'gold', ''),
    fewshot: {
      count: r.num(fs, 'count', 'fewshot.', 0, { int: true, min: 0 }),
      samplesFile: fs.samples === undefined ? undefined : resolve(base, r.str(fs, 'samples', 'fewshot.')),
      separator: r.str(fs, 'separator', 'fewshot.', '\n\n'),
      seed: r.num(fs, 'seed', 'fewshot.', 1234, { int: true }),
    },
    generation: {
      max_tokens: r.num(gen, 'max_tokens', 'generation.', 64, { int: true, min: 1 }),
      temperature: r.num(gen, 'temperature', 'generation.', 0, { min: 0 }),
      top_p: gen.top_p === undefined ? undefined : r.num(gen, 'top_p', 'generation.', 1, { min: 0 }),
      stop: r.strList(gen, 'stop', 'generation.'),
    },
    extract,
    metrics,
    repeats: r.num(o, 'repeats', '', 1, { int: true, min: 1 }),
    seed: r.num(o, 'seed', '', 1234, { int: true }),
    agent: readAgent(r, o.agent),
  };
  if (request === 'multiple_choice' && (!spec.choices || !spec.gold)) r.fail("request 'multiple_choice' needs 'choices' (the options) and 'gold' (the right one's index)");
  if (request === 'agent' && !spec.agent) r.fail("request 'agent' needs an 'agent' section (tools, max_steps)");
  const passK = Math.max(0, ...metrics.filter((m): m is Extract<MetricSpec, { kind: 'pass_at_k' }> => m.kind === 'pass_at_k').flatMap((m) => m.k));
  if (passK > spec.repeats) r.fail(`pass_at_k with k=${passK} needs 'repeats' >= ${passK} (got ${spec.repeats})`);
  if (!existsSync(spec.samplesFile)) r.fail(`samples file ${spec.samplesFile} does not exist`);
  if (spec.fewshot.samplesFile && !existsSync(spec.fewshot.samplesFile)) r.fail(`fewshot samples file ${spec.fewshot.samplesFile} does not exist`);
  const { file: _f, ...content } = spec;
  const hash = createHash('sha256').update(JSON.stringify({ ...content, samplesFile: readFileSync(spec.samplesFile, 'utf8') })).digest('hex').slice(0, 16);
  return { ...spec, hash };
}

export function loadTaskFile(file: string): TaskSpec {
  if (!existsSync(file)) throw new TaskFileError(`task file ${file} does not exist`);
  return parseTaskFile(readFileSync(file, 'utf8'), file);
}
