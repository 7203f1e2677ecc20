/*
 * Checked access to tokenizer.json fields: every malformed value becomes an error that
 * names the field path (e.g. `model.merges[3]`) and what was expected.
 *
 * What it is: tiny typed getters over parsed JSON.
 * What it is not: a schema of the whole file.
 * Reference: huggingface/tokenizers serialization (serde field names).
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export class TokenizerJsonError extends Error {
  readonly code = 'INVALID_ARGUMENT';
  constructor(path: string, expected: string, got?: unknown) {
    const shown = got === undefined ? 'missing' : JSON.stringify(got)?.slice(0, 60);
    super(`tokenizer.json: ${path} must be ${expected} (got ${shown})`);
    this.name = 'TokenizerJsonError';
  }
}

/** An unsupported component type: named, never approximated. */
export function unsupported(path: string, type: unknown, supported: readonly string[]): never {
  throw new Error(`tokenizer.json: ${path}.type ${JSON.stringify(type)} is not supported (supported: ${supported.join(', ')})`);
}

export function obj(v: unknown, path: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TokenizerJsonError(path, 'an object', v);
  return v as JsonObject;
}

export function str(o: JsonObject, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new TokenizerJsonError(`${path}.${key}`, 'a string', v);
  return v;
}

export function optStr(o: JsonObject, key: string, path: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new TokenizerJsonError(`${path}.${key}`, 'a string or null', v);
  return v;
}

export function bool(o: JsonObject, key: string, path: string, dflt: boolean): boolean {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new TokenizerJsonError(`${path}.${key}`, 'a boolean', v);
  return v;
}

export function int(o: JsonObject, key: string, path: string, dflt?: number): number {
  const v = o[key];
  if ((v === undefined || v === null) && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TokenizerJsonError(`${path}.${key}`, 'a non-negative integer', v);
  return v;
}

export function arr(o: JsonObject, key: string, path: string): Json[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new TokenizerJsonError(`${path}.${key}`, 'an array', v);
  return v;
}

/** A `pattern` field: {String: "..."} or {Regex: "..."}. */
export function pattern(o: JsonObject, path: string): { regex: boolean; source: string } {
  const p = obj(o.pattern, `${path}.pattern`);
  if (typeof p.String === 'string') return { regex: false, source: p.String };
  if (typeof p.Regex === 'string') return { regex: true, source: p.Regex };
  throw new TokenizerJsonError(`${path}.pattern`, '{"String": ...} or {"Regex": ...}', p);
}
