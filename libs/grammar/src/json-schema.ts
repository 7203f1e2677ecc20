/*
 * JSON Schema (the subset below) -> EBNF whose every sentence is JSON text valid under the schema.
 * Output is written one way: `{"a": 1, "b": [true, null]}` (", " and ": " separators, no other
 * whitespace), properties in the schema's order, so a model cannot wander into endless spaces.
 *
 * Supported keywords (anything else is refused with a GrammarError naming its path):
 *   type (one or a list), enum, const, anyOf, $ref to #/$defs/... or #/definitions/... (recursion
 *   allowed), $defs / definitions;
 *   object: properties, required, additionalProperties (false; true or a schema is accepted but
 *     no extra property is ever generated);
 *   array: items (one schema), minItems, maxItems;
 *   string: minLength, maxLength, pattern (see regex.ts; JSON Schema's "matches anywhere");
 *   integer: minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers);
 *   number: minimum, maximum with integer values;
 *   annotations, ignored: title, description, default, examples, $schema, $id, $comment,
 *     deprecated, readOnly, writeOnly, strict (OpenAI's flag) and nullable.
 * `{}` or `true` is any JSON value.
 *
 * What it is not: a validator (ajv checks outputs in the tests) or the engine.
 */
import { literal, RuleSet } from './ebnf-text';
import { GrammarError } from './errors';
import { integerRange, numberRange } from './numeric-range';
import { regexToEbnf, repeat } from './regex';

type Schema = Record<string, unknown>;

const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly', 'strict', 'nullable', '$defs', 'definitions']);
const BY_TYPE: Record<string, string[]> = {
  object: ['properties', 'required', 'additionalProperties'],
  array: ['items', 'minItems', 'maxItems'],
  string: ['minLength', 'maxLength', 'pattern'],
  integer: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  number: ['minimum', 'maximum'],
  boolean: [],
  null: [],
};
const GENERAL = new Set(['type', 'enum', 'const', 'anyOf', '$ref']);
const TYPES = Object.keys(BY_TYPE);

/** JSON string content: an unescaped character or an escape (\" \\ \/ \b \f \n \r \t \uXXXX). */
// A negated class: the engine mishandles positive ranges past U+00FF (regex.ts), and the UTF-8
// guard keeps the negation from producing invalid byte sequences.
const STRING_CHAR = '([^"\\\\\\x00-\\x1f] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4}))';
/** One unescaped JSON string character (strings with a length bound). */
const PLAIN_CHAR = '[^"\\\\\\x00-\\x1f]';

export class JsonSchemaCompiler {
  private readonly refRules = new Map<string, string>();
  private anyRule: string | undefined;

  /** `rules`: a shared rule set when several schemas go into one grammar (tool calls). */
  constructor(
    private readonly root: unknown,
    private readonly rules = new RuleSet(),
  ) {}

  /** The whole grammar: root ::= the schema's rule. */
  compile(): string {
    return this.rules.toString(this.schema(this.root, ''));
  }

  /** The rule text for a schema inside a larger grammar (tool calls embed argument schemas). */
  embed(schema: unknown, path: string): { expr: string; rules: RuleSet } {
    return { expr: this.schema(schema, path), rules: this.rules };
  }

  get ruleSet(): RuleSet {
    return this.rules;
  }

  private fail(path: string, message: string): never {
    throw new GrammarError(`response schema${path ? ` at '${path}'` : ''}: ${message}`, path);
  }

  /** An EBNF expression (usually a rule name) for `s` found at `path`. */
  schema(s: unknown, path: string): string {
    if (s === true) return this.any();
    if (s === false) this.fail(path, 'the schema `false` accepts no value');
    if (typeof s !== 'object' || s === null || Array.isArray(s)) this.fail(path, 'a schema must be an object or a boolean');
    const o = s as Schema;
    this.checkKeywords(o, path);
    if (o.$ref !== undefined) return this.ref(o.$ref, path);
    if (o.const !== undefined) return literal(jsonText(o.const));
    if (o.enum !== undefined) {
      if (!Array.isArray(o.enum) || o.enum.length === 0) this.fail(join(path, 'enum'), 'must be a non-empty list');
      return `(${(o.enum as unknown[]).map((v) => literal(jsonText(v))).join(' | ')})`;
    }
    if (o.anyOf !== undefined) {
      if (!Array.isArray(o.anyOf) || o.anyOf.length === 0) this.fail(join(path, 'anyOf'), 'must be a non-empty list of schemas');
      return `(${(o.anyOf as unknown[]).map((x, i) => this.schema(x, join(path, `anyOf[${i}]`))).join(' | ')})`;
    }
    const types = this.types(o, path);
    if (types.length === 0) return this.any();
    const alts = types.map((t) => this.typed(t, o, path));
    return alts.length === 1 ? alts[0] : `(${alts.join(' | ')})`;
  }

  private checkKeywords(o: Schema, path: string): void {
    const types = Array.isArray(o.type) ? (o.type as string[]) : typeof o.type === 'string' ? [o.type] : TYPES;
    const allowed = new Set([...GENERAL, ...ANNOTATIONS, ...types.flatMap((t) => BY_TYPE[t] ?? [])]);
    for (const k of Object.keys(o)) {
      if (allowed.has(k)) continue;
      const where = Object.entries(BY_TYPE).find(([, ks]) => ks.includes(k));
      this.fail(join(path, k), where ? `keyword '${k}' applies to type ${where[0]}, not ${types.join(' | ')}` : `keyword '${k}' is not supported (supported: ${[...GENERAL].join(', ')}, and per type: ${Object.entries(BY_TYPE).map(([t, ks]) => `${t}: ${ks.join(', ') || '-'}`).join('; ')})`);
    }
  }

  private types(o: Schema, path: string): string[] {
    if (o.type === undefined) {
      const implied = TYPES.filter((t) => BY_TYPE[t].some((k) => k in o));
      return implied;
    }
    const list = Array.isArray(o.type) ? o.type : [o.type];
    for (const t of list) if (typeof t !== 'string' || !TYPES.includes(t)) this.fail(join(path, 'type'), `unknown type ${JSON.stringify(t)} (expected one of ${TYPES.join(', ')})`);
    const out = [...new Set(list as string[])];
    if (o.nullable === true && !out.includes('null')) out.push('null');
    return out;
  }

  private typed(t: string, o: Schema, path: string): string {
    switch (t) {
      case 'object':
        return this.object(o, path);
      case 'array':
        return this.array(o, path);
      case 'string':
        return this.string(o, path);
      case 'integer':
        return this.integer(o, path);
      case 'number':
        return this.number(o, path);
      case 'boolean':
        return '("true" | "false")';
      default:
        return '"null"';
    }
  }

  private object(o: Schema, path: string): string {
    const props = (o.properties ?? {}) as Record<string, unknown>;
    if (typeof props !== 'object' || Array.isArray(props)) this.fail(join(path, 'properties'), 'must be an object of schemas');
    const required = (o.required ?? []) as unknown[];
    if (!Array.isArray(required) || !required.every((r) => typeof r === 'string')) this.fail(join(path, 'required'), 'must be a list of property names');
    for (const r of required as string[]) if (!(r in props)) this.fail(join(path, 'required'), `'${r}' is required but has no schema under properties (extra properties are never generated)`);
    const names = Object.keys(props);
    const items = names.map((n) => `${literal(JSON.stringify(n))} ": " ${this.schema(props[n], join(path, `properties.${n}`))}`);
    const req = names.map((n) => required.includes(n));
    // rest[i]: after at least one property was written, properties i.. remain (", " before each).
    const rest: string[] = new Array(names.length + 1);
    rest[names.length] = '""';
    for (let i = names.length - 1; i >= 0; i--) {
      const next = `", " ${items[i]} ${rest[i + 1]}`;
      rest[i] = this.rules.add(`${path || 'root'}_rest`, req[i] ? next : `(${next}) | ${rest[i + 1]}`);
    }
    // first[i]: nothing written yet; the first property written is i or a later one.
    let first = '""';
    for (let i = names.length - 1; i >= 0; i--) {
      const take = `${items[i]} ${rest[i + 1]}`;
      first = this.rules.add(`${path || 'root'}_first`, req[i] ? take : `${take} | ${first}`);
    }
    return `"{" ${first} "}"`;
  }

  private array(o: Schema, path: string): string {
    const min = this.count(o, 'minItems', path) ?? 0;
    const max = this.count(o, 'maxItems', path) ?? Infinity;
    if (min > max) this.fail(join(path, 'minItems'), `minItems ${min} > maxItems ${max}`);
    if (Array.isArray(o.items)) this.fail(join(path, 'items'), 'must be one schema (tuple items are not supported)');
    const item = this.schema(o.items ?? true, join(path, 'items'));
    if (max === 0) return '"[]"';
    const tail = repeat(`", " ${item}`, Math.max(0, min - 1), max - 1);
    const nonEmpty = `"[" ${item} ${tail} "]"`;
    return this.rules.add(`${path || 'root'}_array`, min === 0 ? `"[]" | ${nonEmpty}` : nonEmpty);
  }

  private string(o: Schema, path: string): string {
    const min = this.count(o, 'minLength', path) ?? 0;
    const max = this.count(o, 'maxLength', path) ?? Infinity;
    if (min > max) this.fail(join(path, 'minLength'), `minLength ${min} > maxLength ${max}`);
    if (o.pattern !== undefined) {
      if (typeof o.pattern !== 'string') this.fail(join(path, 'pattern'), 'must be a string');
      if (min > 0 || max < Infinity) this.fail(join(path, 'pattern'), 'pattern together with minLength / maxLength is not supported (put the length into the pattern)');
      try {
        return `"\\"" ${regexToEbnf(o.pattern, { json: true, unanchoredSearch: true, field: join(path, 'pattern') })} "\\""`;
      } catch (err) {
        if (err instanceof GrammarError) this.fail(join(path, 'pattern'), err.message);
        throw err;
      }
    }
    // NOTE: a string with a length bound is written without escapes (as xgrammar's own JSON Schema
    // translation does): counted repetition of an alternation costs the engine far more to compile.
    const char = min === 0 && max === Infinity ? STRING_CHAR : PLAIN_CHAR;
    return this.rules.add(`${path || 'root'}_string`, `"\\"" ${repeat(char, min, max)} "\\""`);
  }

  private integer(o: Schema, path: string): string {
    let lo = this.bound(o, 'minimum', path) ?? -Infinity;
    let hi = this.bound(o, 'maximum', path) ?? Infinity;
    const xlo = this.bound(o, 'exclusiveMinimum', path);
    const xhi = this.bound(o, 'exclusiveMaximum', path);
    lo = Math.ceil(lo);
    hi = Math.floor(hi);
    if (xlo !== undefined) lo = Math.max(lo, Math.floor(xlo) + 1);
    if (xhi !== undefined) hi = Math.min(hi, Math.ceil(xhi) - 1);
    if (lo > hi) this.fail(join(path, 'minimum'), `no integer lies in [${lo}, ${hi}]`);
    return this.rules.add(`${path || 'root'}_int`, integerRange(lo, hi));
  }

  private number(o: Schema, path: string): string {
    const lo = this.bound(o, 'minimum', path) ?? -Infinity;
    const hi = this.bound(o, 'maximum', path) ?? Infinity;
    for (const [k, v] of [['minimum', lo], ['maximum', hi]] as const) {
      if (Number.isFinite(v) && !Number.isInteger(v)) this.fail(join(path, k), `${k} ${v} is not supported for type number: bounds must be whole numbers`);
    }
    if (lo > hi) this.fail(join(path, 'minimum'), `minimum ${lo} > maximum ${hi}`);
    return this.rules.add(`${path || 'root'}_num`, numberRange(lo, hi));
  }

  private count(o: Schema, k: string, path: string): number | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || (v as number) < 0) this.fail(join(path, k), `must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v as number;
  }

  private bound(o: Schema, k: string, path: string): number | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > Number.MAX_SAFE_INTEGER) this.fail(join(path, k), `must be a finite number within ±2^53, got ${JSON.stringify(v)}`);
    return v;
  }

  private ref(ref: unknown, path: string): string {
    const m = typeof ref === 'string' ? /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref) : null;
    if (!m) this.fail(join(path, '$ref'), `only local references #/$defs/<name> or #/definitions/<name> are supported, got ${JSON.stringify(ref)}`);
    const key = `${m[1]}/${m[2]}`;
    const known = this.refRules.get(key);
    if (known) return known;
    const defs = (this.root as Schema)?.[m[1]] as Record<string, unknown> | undefined;
    if (!defs || !(m[2] in defs)) this.fail(join(path, '$ref'), `${ref} names no definition`);
    const name = this.rules.reserve(`def_${m[2]}`);
    this.refRules.set(key, name);
    this.rules.set(name, this.schema(defs[m[2]], `${m[1]}.${m[2]}`));
    return name;
  }

  /** Any JSON value, written compactly. */
  private any(): string {
    if (this.anyRule) return this.anyRule;
    const value = this.rules.reserve('json_value');
    this.anyRule = value;
    const str = this.rules.add('json_string', `"\\"" ${STRING_CHAR}* "\\""`);
    const num = this.rules.add('json_number', '"-"? ("0" | [1-9] [0-9]*) ("." [0-9]+)? ([eE] [+-]? [0-9]+)?');
    const arr = this.rules.add('json_array', `"[]" | "[" ${value} (", " ${value})* "]"`);
    const obj = this.rules.add('json_object', `"{}" | "{" ${str} ": " ${value} (", " ${str} ": " ${value})* "}"`);
    this.rules.set(value, `${obj} | ${arr} | ${str} | ${num} | "true" | "false" | "null"`);
    return value;
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** The canonical JSON text of a const / enum value. */
export function jsonText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(jsonText).join(', ')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${jsonText(x)}`).join(', ')}}`;
  return JSON.stringify(v);
}

/** EBNF for JSON text valid under `schema`. */
export function jsonSchemaToEbnf(schema: unknown): string {
  return new JsonSchemaCompiler(schema).compile();
}
