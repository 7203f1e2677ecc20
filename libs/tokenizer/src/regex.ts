/*
 * Translation of the split patterns that tokenizers are published with (Rust `regex` /
 * `fancy-regex` for tiktoken, Oniguruma for Hugging Face tokenizers) into JavaScript RegExp.
 *
 * What it is: a small scanner over the pattern that rewrites the constructs whose meaning
 * differs: `\s`/`\S` become \p{White_Space}/\P{White_Space} (JS's \s adds U+FEFF and lacks
 * U+0085), `(?i:...)` groups are expanded into explicit [xX] classes, possessive quantifiers
 * (`++`, `*+`, `?+`) become greedy ones, `\A`/`\z` become `^`/`$`.
 * What it is not: a full Oniguruma emulator. Anything it cannot translate faithfully
 * (letters in classes inside `(?i:...)`, `\G`, backreferences) throws, naming
 * the construct, instead of approximating.
 * Reference: Unicode PropList.txt White_Space; Oniguruma doc/RE.
 */

/** Compiles a tokenizer split pattern into a global, unicode JS RegExp. */
export function compileSplitPattern(pattern: string): RegExp {
  const source = translate(pattern);
  try {
    return new RegExp(source, 'gu');
  } catch (err) {
    throw new Error(`split pattern ${JSON.stringify(pattern)} is not supported: ${(err as Error).message}`);
  }
}

/** The JS RegExp source for a tokenizer pattern (exported for tests). */
export function translate(pattern: string): string {
  let out = '';
  let inClass = false;
  let caseless = 0; // depth of (?i: groups still open
  const groupStack: boolean[] = []; // per open group: is it a (?i: group
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const [text, len] = translateEscape(pattern, i, inClass);
      out += text;
      i += len - 1;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      else if (caseless > 0 && /[A-Za-z]/.test(c)) {
        throw new Error(`split pattern: a letter inside a class within (?i:...) is not supported (at ${i})`);
      }
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (pattern[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (pattern[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(') {
      if (pattern.startsWith('(?i:', i)) {
        groupStack.push(true);
        caseless++;
        out += '(?:';
        i += 3;
        continue;
      }
      if (pattern.startsWith('(?', i) && !/^\(\?(?::|=|!|<=|<!)/.test(pattern.slice(i))) {
        throw new Error(`split pattern: group ${pattern.slice(i, i + 4)} is not supported (at ${i})`);
      }
      groupStack.push(false);
      out += c;
      continue;
    }
    if (c === ')') {
      if (groupStack.pop()) caseless--;
      out += c;
      continue;
    }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && pattern[i + 1] === '+') {
      out += c; // possessive -> greedy: identical for the published tokenizer patterns
      i++;
      continue;
    }
    if (caseless > 0 && /[A-Za-z]/.test(c)) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
      continue;
    }
    out += c;
  }
  if (inClass) throw new Error('split pattern: unterminated character class');
  return out;
}

/** Returns the JS text for the escape at pattern[i] and the number of pattern chars used. */
function translateEscape(pattern: string, i: number, inClass: boolean): [string, number] {
  const e = pattern[i + 1];
  if (e === undefined) throw new Error('split pattern ends with a lone backslash');
  if (e === 's') return ['\\p{White_Space}', 2];
  if (e === 'S') return ['\\P{White_Space}', 2];
  if (e === 'A' && !inClass) return ['^', 2];
  if (e === 'z' && !inClass) return ['$', 2];
  if (e === 'G' || /[1-9]/.test(e)) throw new Error(`split pattern: \\${e} is not supported`);
  if (e === 'p' || e === 'P') {
    const close = pattern.indexOf('}', i);
    if (pattern[i + 2] !== '{' || close < 0) return [`\\${e}`, 2];
    return [pattern.slice(i, close + 1), close + 1 - i];
  }
  if (e === 'x' && pattern[i + 2] === '{') {
    const close = pattern.indexOf('}', i);
    return [`\\u{${pattern.slice(i + 3, close)}}`, close + 1 - i];
  }
  return [`\\${e}`, 2];
}
