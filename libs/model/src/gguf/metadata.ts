/*
 * Typed access to a GGUF file's metadata with errors that name the file, the key and what was
 * expected. Integers are accepted in any integer type (the spec recommends uint64 for counts,
 * llama.cpp writes uint32), floats in float32 or float64; per-layer counts as one value or an
 * array with one per layer (as llama.cpp's loader takes them).
 * Not here: which keys an architecture needs (./llama-config.ts, ./tokenizer-from-gguf.ts).
 */
import { GgufError, GgufType, type GgufArray, type GgufValue } from './types';

const INTS = new Set([GgufType.UINT8, GgufType.INT8, GgufType.UINT16, GgufType.INT16, GgufType.UINT32, GgufType.INT32, GgufType.UINT64, GgufType.INT64]);
const FLOATS = new Set([GgufType.FLOAT32, GgufType.FLOAT64]);

/** The shortest decimal whose float32 rounding is x (x a float32 value), as a float32 printer writes it. */
export function shortestF32(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  for (let p = 1; p <= 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return d;
  }
  return x;
}

export class GgufMeta {
  constructor(readonly metadata: ReadonlyMap<string, GgufValue>, readonly source: string) {}

  has(key: string): boolean {
    return this.metadata.has(key);
  }

  private get(key: string, why: string): GgufValue {
    const v = this.metadata.get(key);
    if (!v) throw new GgufError(`${this.source}: metadata "${key}" is missing (${why})`);
    return v;
  }

  private wrong(key: string, v: GgufValue, expected: string): never {
    const shown = typeof v.value === 'object' ? `an array` : JSON.stringify(typeof v.value === 'bigint' ? String(v.value) : v.value);
    throw new GgufError(`${this.source}: metadata "${key}" is ${shown} (type ${GgufType[v.type]}), expected ${expected}`);
  }

  str(key: string, why = 'required'): string {
    const v = this.get(key, why);
    if (v.type !== GgufType.STRING) this.wrong(key, v, 'a string');
    return v.value as string;
  }

  optStr(key: string): string | null {
    return this.has(key) ? this.str(key) : null;
  }

  /** A non-negative integer that fits a JS number. */
  uint(key: string, why = 'required'): number {
    const v = this.get(key, why);
    if (!INTS.has(v.type) || typeof v.value !== 'number' || v.value < 0) this.wrong(key, v, 'a non-negative integer');
    return v.value as number;
  }

  optUint(key: string): number | null {
    return this.has(key) ? this.uint(key) : null;
  }

  /**
   * A per-layer integer, which llama.cpp accepts as one value or an array of one per layer:
   * the value when every layer has the same one (models whose layers differ are refused).
   */
  perLayerUint(key: string, layers: number, why = 'required'): number {
    const v = this.get(key, why);
    if (v.type !== GgufType.ARRAY) return this.uint(key, why);
    const items = this.numbers(key);
    if (items.length !== layers) throw new GgufError(`${this.source}: ${key} has ${items.length} per-layer values for ${layers} layers`);
    if (!items.every((x) => Number.isInteger(x) && x >= 0)) this.wrong(key, v, 'non-negative integers');
    if (items.some((x) => x !== items[0])) throw new GgufError(`${this.source}: ${key} differs between layers ([${items.join(', ')}]); models with per-layer head counts or widths are not supported`);
    return items[0];
  }

  optPerLayerUint(key: string, layers: number): number | null {
    return this.has(key) ? this.perLayerUint(key, layers) : null;
  }

  /** A number; float32 values come back as the shortest decimal that rounds to them (1e-5, not 9.99999974e-6). */
  float(key: string, why = 'required'): number {
    const v = this.get(key, why);
    if ((!FLOATS.has(v.type) && !INTS.has(v.type)) || typeof v.value !== 'number') this.wrong(key, v, 'a number');
    return v.type === GgufType.FLOAT32 ? shortestF32(v.value as number) : (v.value as number);
  }

  optFloat(key: string): number | null {
    return this.has(key) ? this.float(key) : null;
  }

  optBool(key: string): boolean | null {
    if (!this.has(key)) return null;
    const v = this.get(key, '');
    if (v.type !== GgufType.BOOL) this.wrong(key, v, 'a bool');
    return v.value as boolean;
  }

  private array(key: string, why: string, items: Set<GgufType>, expected: string): GgufArray {
    const v = this.get(key, why);
    const a = v.value as GgufArray;
    if (v.type !== GgufType.ARRAY || !items.has(a.itemType)) this.wrong(key, v, expected);
    return a;
  }

  strings(key: string, why = 'required'): string[] {
    return this.array(key, why, new Set([GgufType.STRING]), 'an array of strings').items as string[];
  }

  numbers(key: string, why = 'required'): number[] {
    const a = this.array(key, why, new Set([...INTS, ...FLOATS]), 'an array of numbers');
    if (!a.items.every((x) => typeof x === 'number')) throw new GgufError(`${this.source}: metadata "${key}" holds a 64-bit value beyond 2^53`);
    return a.items as number[];
  }
}

/** Metadata values for the writer. */
export const gv = {
  str: (value: string): GgufValue => ({ type: GgufType.STRING, value }),
  u32: (value: number): GgufValue => ({ type: GgufType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufType.BOOL, value }),
  strings: (items: string[]): GgufValue => ({ type: GgufType.ARRAY, value: { itemType: GgufType.STRING, items } }),
  f32s: (items: number[]): GgufValue => ({ type: GgufType.ARRAY, value: { itemType: GgufType.FLOAT32, items } }),
  i32s: (items: number[]): GgufValue => ({ type: GgufType.ARRAY, value: { itemType: GgufType.INT32, items } }),
};
