/*
 * Samples and prompts: JSONL samples (one JSON object per line; a bad line is named by number),
 * Jinja templates over a sample's fields, and the few-shot prefix (k examples drawn with a seeded
 * shuffle from the few-shot file, or from the other samples, never the sample itself).
 *
 *   prompt(sample) = shot_1 + sep + ... + shot_k + sep + template(sample)
 *   shot_i         = template(example_i) + target(example_i)
 *
 * What it is not: dataset download; samples are local files.
 * Reference: lm-evaluation-harness (doc_to_text, doc_to_target, fewshot_delimiter).
 */
import { readFileSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import type { TaskSpec } from './task-file';

export interface Sample {
  /** The sample's `id` field, or its line number. */
  id: string;
  fields: Record<string, unknown>;
}

export function readSamples(file: string): Sample[] {
  const out: Sample[] = [];
  const seen = new Set<string>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let o: unknown;
      try {
        o = JSON.parse(line);
      } catch (err) {
        throw new Error(`${file}:${i + 1}: not a JSON object (${(err as Error).message})`);
      }
      if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`${file}:${i + 1}: each line must be a JSON object`);
      const fields = o as Record<string, unknown>;
      const id = fields.id === undefined ? String(i + 1) : String(fields.id);
      if (seen.has(id)) throw new Error(`${file}:${i + 1}: duplicate sample id '${id}'`);
      seen.add(id);
      out.push({ id, fields });
    });
  if (out.length === 0) throw new Error(`${file} has no samples`);
  return out;
}

/** Compiled templates of a task. */
export class TaskTemplates {
  private readonly cache = new Map<string, Template>();

  constructor(private readonly task: TaskSpec) {}

  render(source: string, sample: Sample, what: string): string {
    let t = this.cache.get(source);
    if (!t) {
      try {
        t = new Template(source);
      } catch (err) {
        throw new Error(`task file ${this.task.file}: '${what}' is not a valid template: ${(err as Error).message}`);
      }
      this.cache.set(source, t);
    }
    try {
      return t.render(sample.fields);
    } catch (err) {
      throw new Error(`sample '${sample.id}': '${what}' could not be rendered: ${(err as Error).message}`);
    }
  }

  prompt(s: Sample): string {
    return this.render(this.task.prompt, s, 'prompt');
  }

  target(s: Sample): string {
    return this.render(this.task.target, s, 'target');
  }

  /** multiple_choice: the options (a list field, or a template rendering JSON) and the gold index. */
  choices(s: Sample): { options: string[]; gold: number } {
    const raw = this.renderValue(this.task.choices!, s);
    const options = Array.isArray(raw) ? raw.map(String) : null;
    if (!options || options.length < 2) throw new Error(`sample '${s.id}': 'choices' must give a list of at least two options`);
    const gold = Number(this.renderValue(this.task.gold!, s));
    if (!Number.isInteger(gold) || gold < 0 || gold >= options.length) throw new Error(`sample '${s.id}': 'gold' must be an index into the ${options.length} choices`);
    return { options, gold };
  }

  /** A template that is only `{{ field }}` yields the field's value itself (lists stay lists). */
  private renderValue(source: string, s: Sample): unknown {
    const m = /^\s*\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$/.exec(source);
    if (m) return s.fields[m[1]];
    const text = this.render(source, s, 'choices');
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
}

/** mulberry32: a small seeded generator for few-shot draws and the bootstrap. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The few-shot prefix of one sample (empty when count is 0). */
export function fewshotPrefix(task: TaskSpec, tpl: TaskTemplates, pool: Sample[], sample: Sample, index: number): string {
  const k = task.fewshot.count;
  if (k === 0) return '';
  const candidates = task.fewshot.samplesFile ? pool : pool.filter((p) => p.id !== sample.id);
  if (candidates.length < k) throw new Error(`fewshot.count ${k} needs at least ${k} other samples (have ${candidates.length})`);
  const rand = seededRandom(task.fewshot.seed * 1_000_003 + index);
  const picked = [...candidates];
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (picked.length - i));
    [picked[i], picked[j]] = [picked[j], picked[i]];
  }
  return picked
    .slice(0, k)
    .map((p) => tpl.prompt(p) + tpl.target(p))
    .join(task.fewshot.separator) + task.fewshot.separator;
}
