/*
 * Evaluation against a scripted OpenAI-compatible server: metrics against hand-computed values,
 * the response cache (a re-run makes no request), resume after an endpoint that returns 500
 * (finished samples kept, one clear message), task-file errors, few-shot prompts, loglikelihood
 * and perplexity from echoed prompt logprobs, multiple choice, pass@k, agent tasks scored on the
 * answer and the trace, the HTML report, and the comparison of two runs.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  compareReports, EvalInterruptedError, formatComparison, loadTaskFile, OpenAiHttpClient, parseTaskFile, passAtK, runEval, TaskFileError, type EvalReport,
} from '../src';
import { startScriptedServer, type ScriptedServer } from '../src/testing';

let server: ScriptedServer;
let dir: string;
const client = () => new OpenAiHttpClient({ baseUrl: server.url, model: 'm', retry: { baseDelayMs: 1, maxRetries: 1 } });

/** Problems "a+b=" with the answer; the scripted model is wrong whenever a % 10 === 3. */
function writeAddTask(name: string, n: number, extra = ''): string {
  const samples = Array.from({ length: n }, (_, i) => ({ id: `s${i}`, a: 10 + i, b: 7, answer: String(17 + i) }));
  writeFileSync(join(dir, `${name}.jsonl`), samples.map((s) => JSON.stringify(s)).join('\n'));
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nsamples: ${name}.jsonl\nrequest: generate_until\nprompt: "{{ a }}+{{ b }}="\ntarget: "{{ answer }}"\ngeneration: { max_tokens: 4 }\nextract: { first_number: true }\n${extra}`);
  return file;
}

function addModel(body: any) {
  const m = /(\d+)\+(\d+)=$/.exec(body.prompt);
  if (!m) return { text: '?' };
  const a = Number(m[1]);
  return { text: ` ${a % 10 === 3 ? a : a + Number(m[2])} done`, usage: { prompt_tokens: 5, completion_tokens: 3 } };
}

beforeAll(async () => {
  server = await startScriptedServer({ completion: addModel });
  dir = mkdtempSync(join(tmpdir(), 'harness-eval-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.handlers.completion = addModel;
  server.requests.length = 0;
});

describe('generate_until', () => {
  it('scores exact match after extraction with a bootstrap error, writes JSON and a self-contained HTML page', async () => {
    const task = loadTaskFile(writeAddTask('add', 40, 'metrics: [exact_match, { numeric: { tolerance: 10 } }]\n'));
    const rep = await runEval({ task, client: client(), outDir: join(dir, 'out-add'), concurrency: 4 });
    // i = 0..39, a = 10+i: wrong when a % 10 == 3 -> 4 of 40.
    expect(rep.metrics.exact_match.value).toBeCloseTo(36 / 40, 10);
    const p = 36 / 40;
    expect(rep.metrics.exact_match.stderr).toBeGreaterThan(0.7 * Math.sqrt((p * (1 - p)) / 40));
    expect(rep.metrics.exact_match.stderr).toBeLessThan(1.3 * Math.sqrt((p * (1 - p)) / 40));
    // numeric with tolerance 10: the wrong answers (a instead of a+7) are within 7.
    expect(rep.metrics.numeric.value).toBe(1);
    expect(rep.samples[3]).toMatchObject({ key: 's3#0', prompt: '13+7=', output: ' 13 done', extracted: '13', target: '20', scores: { exact_match: 0 } });
    expect(server.requests[0].body).toMatchObject({ prompt: '10+7=', max_tokens: 4, temperature: 0, model: 'm' });
    const saved = JSON.parse(readFileSync(join(dir, 'out-add', 'report.json'), 'utf8')) as EvalReport;
    expect(saved.metrics.exact_match.value).toBeCloseTo(0.9, 10);
    const html = readFileSync(join(dir, 'out-add', 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/https?:\/\/[^"'\s]*\.js/);
    expect(html).toContain('Chart.register(errorBars)');
    expect(html.length).toBeGreaterThan(150_000); // Chart.js is inline
    expect(html).toContain('13+7=');
  });

  it('answers a re-run from the response cache with no request at all', async () => {
    const task = loadTaskFile(writeAddTask('cached', 10));
    const cacheDir = join(dir, 'shared-cache');
    await runEval({ task, client: client(), outDir: join(dir, 'c1'), cacheDir });
    expect(server.requests).toHaveLength(10);
    server.requests.length = 0;
    const again = await runEval({ task, client: client(), outDir: join(dir, 'c2'), cacheDir });
    expect(server.requests).toHaveLength(0);
    expect(again.cache).toEqual({ hits: 10, misses: 0 });
    expect(again.metrics.exact_match.value).toBe(0.9);
  });

  it('stops on an endpoint that returns 500 with one message, keeps finished samples, and resumes', async () => {
    const task = loadTaskFile(writeAddTask('flaky', 20));
    let calls = 0;
    server.handlers.completion = (body) => (++calls > 8 ? { status: 500, message: 'out of blocks' } : addModel(body));
    const out = join(dir, 'flaky-out');
    const err = await runEval({ task, client: client(), outDir: out, concurrency: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(EvalInterruptedError);
    expect(err.message).toBe(
      `sample 's8#0' failed: POST ${server.url}/v1/completions: 500 Internal Server Error: out of blocks (gave up after 2 attempts); ` +
        `8 of 20 samples are finished and kept in ${join(out, 'results.jsonl')}; run the same command again to resume`,
    );
    expect(readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n')).toHaveLength(8);
    expect(existsSync(join(out, 'report.json'))).toBe(false);
    server.handlers.completion = addModel;
    server.requests.length = 0;
    const rep = await runEval({ task, client: client(), outDir: out, cacheDir: null });
    expect(server.requests).toHaveLength(12); // only the unfinished samples
    expect(rep.n_results).toBe(20);
    expect(rep.samples.map((s) => s.id)).toEqual(Array.from({ length: 20 }, (_, i) => `s${i}`));
    expect(rep.metrics.exact_match.value).toBe(18 / 20);
  });

  it('refuses to resume into a folder of another task configuration', async () => {
    const file = writeAddTask('conf', 3);
    await runEval({ task: loadTaskFile(file), client: client(), outDir: join(dir, 'conf-out') });
    writeFileSync(file, readFileSync(file, 'utf8').replace('max_tokens: 4', 'max_tokens: 5'));
    await expect(runEval({ task: loadTaskFile(file), client: client(), outDir: join(dir, 'conf-out') })).rejects.toThrow(/holds results of task 'conf' with other settings/);
  });

  it('builds few-shot prompts from other samples, deterministically', async () => {
    const task = loadTaskFile(writeAddTask('fs', 6, 'fewshot: { count: 2, separator: "\\n" }\n'));
    await runEval({ task, client: client(), outDir: join(dir, 'fs-out'), cacheDir: null });
    const prompts = server.requests.map((r) => r.body.prompt as string);
    expect(prompts[0].split('\n')).toHaveLength(3);
    expect(prompts[0].endsWith('\n10+7=')).toBe(true);
    for (const p of prompts) {
      const lines = p.split('\n');
      for (const shot of lines.slice(0, 2)) expect(shot).toMatch(/^(\d+)\+7=(\d+)$/);
      expect(lines.slice(0, 2)).not.toContain(`${lines[2]}${Number(lines[2].split('+')[0]) + 7}`);
    }
    server.requests.length = 0;
    await runEval({ task, client: client(), outDir: join(dir, 'fs-out2'), cacheDir: null });
    expect(server.requests.map((r) => r.body.prompt)).toEqual(prompts);
  });
});

describe('task files', () => {
  const parse = (yaml: string) => {
    writeFileSync(join(dir, 'x.jsonl'), '{"q": 1}\n');
    return parseTaskFile(yaml, join(dir, 'x.yaml'));
  };

  it('refuses an unknown field with one message naming it and the known ones', () => {
    expect(() => parse('name: t\nsamples: x.jsonl\nprompt: p\ntarget: t\npromt: typo\n')).toThrow(TaskFileError);
    expect(() => parse('name: t\nsamples: x.jsonl\nprompt: p\ntarget: t\npromt: typo\n')).toThrow(
      `task file ${join(dir, 'x.yaml')}: unknown field 'promt' (known: name, description, samples, request, prompt, target, choices, gold, fewshot, generation, extract, metrics, repeats, seed, agent)`,
    );
    expect(() => parse('name: t\nsamples: x.jsonl\nprompt: p\ntarget: t\ngeneration: { max_token: 3 }\n')).toThrow(
      "unknown field 'generation.max_token' (known in generation: max_tokens, temperature, top_p, stop)",
    );
    expect(() => parse('name: t\nsamples: x.jsonl\nprompt: p\ntarget: t\nmetrics: [exact]\n')).toThrow("metrics[0]: unknown metric 'exact'");
    expect(() => parse('name: t\nsamples: x.jsonl\nprompt: p\ntarget: t\nrequest: chat\n')).toThrow("'request' must be one of generate_until, loglikelihood, multiple_choice, agent, got 'chat'");
    expect(() => parse('name: t\nsamples: nope.jsonl\nprompt: p\ntarget: t\n')).toThrow(/samples file .*nope.jsonl does not exist/);
    expect(() => parse('name: t\nsamples: x.jsonl\nprompt: p\ntarget: t\nmetrics: [{ pass_at_k: 5 }]\n')).toThrow("pass_at_k with k=5 needs 'repeats' >= 5 (got 1)");
    expect(parse('{"name": "j", "samples": "x.jsonl", "prompt": "p", "target": "t"}').name).toBe('j'); // JSON works too
  });
});

describe('loglikelihood, multiple choice, pass@k', () => {
  /** Echo: one token per character, logprob -(code % 5 + 1) / 10; the first token has none. */
  const lp = (ch: string) => -((ch.charCodeAt(0) % 5) + 1) / 10;
  function echoModel(body: any) {
    expect(body).toMatchObject({ echo: true, logprobs: 1 });
    const text: string = body.prompt;
    const chars = [...text];
    return {
      text: text,
      logprobs: { tokens: chars, token_logprobs: chars.map((c, i) => (i === 0 ? null : lp(c))), top_logprobs: chars.map((c) => ({ [c]: lp(c) })), text_offset: chars.map((_, i) => i) },
    };
  }

  it('sums the target tokens of the echoed prompt, and gives corpus perplexity', async () => {
    server.handlers.completion = echoModel;
    writeFileSync(join(dir, 'll.jsonl'), ['{"ctx": "The cat", "cont": " sat"}', '{"ctx": "A dog", "cont": " ran far"}'].join('\n'));
    writeFileSync(join(dir, 'll.yaml'), 'name: ll\nsamples: ll.jsonl\nrequest: loglikelihood\nprompt: "{{ ctx }}"\ntarget: "{{ cont }}"\nmetrics: [perplexity]\n');
    const rep = await runEval({ task: loadTaskFile(join(dir, 'll.yaml')), client: client(), outDir: join(dir, 'll-out'), cacheDir: null });
    const sum = (s: string) => [...s].reduce((a, c) => a + lp(c), 0);
    expect(rep.samples[0].logprob).toBeCloseTo(sum(' sat'), 12);
    expect(rep.samples[0].tokens).toBe(4);
    expect(rep.samples[1].logprob).toBeCloseTo(sum(' ran far'), 12);
    expect(rep.metrics.perplexity.value).toBeCloseTo(Math.exp(-(sum(' sat') + sum(' ran far')) / 12), 12);
    expect(rep.metrics.loglikelihood.value).toBeCloseTo((sum(' sat') + sum(' ran far')) / 2, 12);
  });

  it('picks the option with the highest loglikelihood', async () => {
    server.handlers.completion = echoModel;
    // ' a' has logprob lp(' ') + lp('a'); 'a' = 97 -> -0.3, 'f' = 102 -> -0.3, 'e' = 101 -> -0.2, 'y' = 121 -> -0.2.
    writeFileSync(join(dir, 'mc.jsonl'), ['{"q": "Q1", "choices": ["a", "e"], "label": 1}', '{"q": "Q2", "choices": ["y", "ff"], "label": 1}'].join('\n'));
    writeFileSync(join(dir, 'mc.yaml'), 'name: mc\nsamples: mc.jsonl\nrequest: multiple_choice\nprompt: "{{ q }}:"\nchoices: "{{ choices }}"\ngold: "{{ label }}"\nmetrics: [accuracy]\n');
    const rep = await runEval({ task: loadTaskFile(join(dir, 'mc.yaml')), client: client(), outDir: join(dir, 'mc-out'), cacheDir: null });
    expect(rep.samples.map((s) => s.output)).toEqual(['e', 'y']);
    expect(rep.metrics.accuracy.value).toBe(0.5);
    expect(server.requests).toHaveLength(4);
  });

  it('estimates pass@k over repeats with the unbiased estimator', async () => {
    // Correct exactly when the request's seed is even: c of 5 repeats per sample, from the seeds the runner sent.
    server.handlers.completion = (body) => ({ text: body.seed % 2 === 0 ? '17' : 'x' });
    const task = loadTaskFile(writeAddTask('pk', 6, 'repeats: 5\nmetrics: [exact_match, { pass_at_k: [1, 2, 5] }]\n'));
    const rep = await runEval({ task, client: client(), outDir: join(dir, 'pk-out'), cacheDir: null });
    const bySample = new Map<string, number>();
    for (const r of server.requests) {
      const id = `s${Number(/(\d+)\+/.exec(r.body.prompt)![1]) - 10}`;
      bySample.set(id, (bySample.get(id) ?? 0) + (r.body.seed % 2 === 0 && id === 's0' ? 1 : 0));
    }
    // Only s0's answer is 17; its pass@k follows from how many of its 5 seeds were even.
    const c0 = bySample.get('s0')!;
    for (const k of [1, 2, 5]) expect(rep.metrics[`pass@${k}`].value).toBeCloseTo(passAtK(5, c0, k) / 6, 12);
    expect(passAtK(5, 2, 1)).toBeCloseTo(0.4, 12);
    expect(passAtK(5, 2, 2)).toBeCloseTo(0.7, 12); // 1 - C(3,2)/C(5,2)
    expect(new Set(server.requests.map((r) => r.body.seed)).size).toBe(30);
  });
});

describe('agent tasks and comparisons', () => {
  it('scores an agent task on the final answer and on its trace', async () => {
    server.handlers.chat = (body: any) => {
      const user = body.messages.find((m: any) => m.role === 'user').content as string;
      const nums = user.split('+').map(Number);
      const results = body.messages.filter((m: any) => m.role === 'tool').map((m: any) => m.content);
      if (nums[0] === 99 && results.length === 0) return { tool_calls: [{ name: 'add', arguments: '{"a": "x"}' }] };
      const k = results.length;
      const clean = results.filter((r: string) => !r.startsWith('error'));
      if (k >= nums.length - 1 + (nums[0] === 99 ? 1 : 0)) return { content: `The answer is ${clean.at(-1)}` };
      const a = clean.length === 0 ? nums[0] : Number(clean.at(-1));
      return { tool_calls: [{ name: 'add', arguments: JSON.stringify({ a, b: nums[clean.length + 1] }) }] };
    };
    writeFileSync(join(dir, 'ag.jsonl'), ['{"q": "10+20+30", "answer": "60"}', '{"q": "99+1+1", "answer": "101"}'].join('\n'));
    writeFileSync(
      join(dir, 'ag.yaml'),
      'name: ag\nsamples: ag.jsonl\nrequest: agent\nprompt: "{{ q }}"\ntarget: "{{ answer }}"\nextract: { first_number: true }\nmetrics: [exact_match, trace_ok]\n' +
        'agent: { tools: [add], max_steps: 8, trace_checks: { all_calls_valid: true, required_tools: [add] } }\n',
    );
    const rep = await runEval({ task: loadTaskFile(join(dir, 'ag.yaml')), client: client(), outDir: join(dir, 'ag-out'), cacheDir: null });
    expect(rep.samples.map((s) => [s.extracted, s.scores.exact_match, s.scores.trace_ok])).toEqual([['60', 1, 1], ['101', 1, 0]]);
    expect(rep.samples[1].agent).toMatchObject({ stop_reason: 'final_answer', tool_calls: { total: 3, invalid: 1 } });
    expect(rep.samples[0].trace!.map((e) => e.type)).toEqual(['run_start', 'model', 'tool', 'model', 'tool', 'model', 'run_end']);
    expect(readFileSync(join(dir, 'ag-out', 'report.html'), 'utf8')).toContain('trace (7 events)');
  });

  it('compares two runs: paired difference, standard error and significance', async () => {
    const file = writeAddTask('cmp', 60);
    const a = await runEval({ task: loadTaskFile(file), client: client(), outDir: join(dir, 'cmp-a'), cacheDir: null });
    server.handlers.completion = (body) => {
      const m = /(\d+)\+(\d+)=$/.exec(body.prompt)!;
      return { text: String(Number(m[1]) + Number(m[2])) };
    };
    const b = await runEval({ task: loadTaskFile(file), client: client(), outDir: join(dir, 'cmp-b'), cacheDir: null });
    const c = compareReports(a, b);
    const d = c.metrics.exact_match;
    // A is wrong on 6 of 60 (a % 10 == 3), B on none: d_i in {0, 1}, mean 0.1, sd = sqrt(60 * 0.1 * 0.9 / 59).
    expect(d.diff).toBeCloseTo(0.1, 12);
    expect(d.stderr).toBeCloseTo(Math.sqrt((60 * 0.1 * 0.9) / 59) / Math.sqrt(60), 12);
    expect(d).toMatchObject({ paired: true, nPaired: 60, significant: true });
    expect(compareReports(a, a).metrics.exact_match).toMatchObject({ diff: 0, significant: false });
    expect(formatComparison(c)).toMatch(/exact_match\s+0\.9000 ± 0\.0\d+\s+1\.0000 ± 0\.0000\s+\+0\.1000 ± 0\.0391\s+0\.0\d+\s+yes \(paired over 60 samples\)/);
    mkdirSync(join(dir, 'unused'), { recursive: true });
  });
});
