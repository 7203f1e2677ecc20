/*
 * Writing EBNF text (the GBNF dialect the engine parses): quoted literals, character classes and
 * a rule set with fresh names. Every generator in this library (JSON Schema, regex, choice, tool
 * calls) writes through these helpers, so escaping is decided in one place.
 *
 *   literal('a"b')        -> "a\"b"
 *   charClass([[48, 57]]) -> [0-9]
 *
 * What it is not: a parser (the engine parses EBNF) or a grammar of its own.
 */

/** Escapes one code point for use inside "..." or [...]. */
function escapeCodePoint(cp: number, inClass: boolean): string {
  if (cp === 0x22) return '\\"';
  if (cp === 0x5c) return '\\\\';
  if (cp === 0x0a) return '\\n';
  if (cp === 0x0d) return '\\r';
  if (cp === 0x09) return '\\t';
  if (inClass && (cp === 0x5d || cp === 0x5b || cp === 0x2d || cp === 0x5e)) return `\\${String.fromCodePoint(cp)}`;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp < 0x7f) return String.fromCodePoint(cp);
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\U${cp.toString(16).padStart(8, '0')}`;
}

/** A quoted literal that matches exactly `s` (the empty string is `""`). */
export function literal(s: string): string {
  let out = '"';
  for (const ch of s) out += escapeCodePoint(ch.codePointAt(0) as number, false);
  return `${out}"`;
}

/** A character class over inclusive code-point ranges; `negated` matches every other character. */
export function charClass(ranges: ReadonlyArray<readonly [number, number]>, negated = false): string {
  let out = negated ? '[^' : '[';
  for (const [a, b] of ranges) out += a === b ? escapeCodePoint(a, true) : `${escapeCodePoint(a, true)}-${escapeCodePoint(b, true)}`;
  return `${out}]`;
}

/** Rules under construction: `add` returns a fresh rule name; `toString` renders `root` first. */
export class RuleSet {
  private readonly rules = new Map<string, string>();
  /** Body -> name: an identical body is one rule, so the engine precomputes its token masks once. */
  private readonly byBody = new Map<string, string>();
  private counter = 0;
  /** Total characters written so far (generators stop before a grammar grows absurdly large). */
  size = 0;

  constructor(private readonly maxSize = 4_000_000) {}

  /** Adds `body` under a fresh name derived from `hint` (or finds the rule with that body) and returns the name. */
  add(hint: string, body: string): string {
    const known = this.byBody.get(body);
    if (known) return known;
    const name = `${hint.replace(/[^a-zA-Z0-9_]/g, '_').slice(0, 40) || 'r'}_${this.counter++}`;
    this.set(name, body);
    this.byBody.set(body, name);
    return name;
  }

  /** Reserves a name now and sets its body later (recursive rules). */
  reserve(hint: string): string {
    return `${hint.replace(/[^a-zA-Z0-9_]/g, '_').slice(0, 40) || 'r'}_${this.counter++}`;
  }

  set(name: string, body: string): void {
    this.size += name.length + body.length + 6;
    if (this.size > this.maxSize) throw new RangeError(`the grammar would be larger than ${this.maxSize} characters`);
    this.rules.set(name, body);
  }

  toString(root: string): string {
    const lines = [`root ::= ${root}`];
    for (const [name, body] of this.rules) lines.push(`${name} ::= ${body}`);
    return `${lines.join('\n')}\n`;
  }
}
