/*
 * tokenizer.json decoders: ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace,
 * Sequence - turning token strings back into text.
 *
 * What it is: each decoder as a step over a list of parts, where a part is text or raw
 * bytes. Two modes: `full` (decode a whole id list exactly as Hugging Face does: byte
 * groups are turned into text as soon as the decoder that made them finishes) and
 * `stream` (one token at a time: bytes stay bytes so the stream decoder can wait for
 * complete UTF-8).
 * What it is not: WordPiece/BPE-suffix/CTC decoders (reported as unsupported).
 * Reference: huggingface/tokenizers src/decoders/*.rs.
 */
import { concatBytes, unicodeToByte, utf8Decode, utf8Encode } from '../bytes';
import { replacer } from './normalizers';
import { arr, bool, int, obj, str, unsupported, type Json } from './fields';

export type Part = string | Uint8Array;

export interface DecodeContext {
  /** Index of the first part in the whole token sequence (0 unless streaming). */
  position: number;
  /** Stream mode: keep bytes as bytes instead of converting them to text. */
  stream: boolean;
  /** Whether a Fuse ran earlier in the chain (then Strip acts on the whole text). */
  fused: boolean;
}

export type Decoder = (parts: Part[], ctx: DecodeContext) => Part[];

const SUPPORTED = ['ByteLevel', 'ByteFallback', 'Fuse', 'Strip', 'Replace', 'Metaspace', 'Sequence'];
const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

export function buildDecoder(json: Json, path = 'decoder'): Decoder | null {
  if (json === null || json === undefined) return null;
  const o = obj(json, path);
  switch (o.type) {
    case 'Sequence': {
      const items = arr(o, 'decoders', path).map((d, i) => buildDecoder(d, `${path}.decoders[${i}]`));
      const fns = items.filter((d): d is Decoder => d !== null);
      return (parts, ctx) => {
        const local = { ...ctx };
        return fns.reduce((acc, d) => d(acc, local), parts);
      };
    }
    case 'ByteLevel':
      return byteLevel;
    case 'ByteFallback':
      return byteFallback;
    case 'Fuse':
      return (parts, ctx) => {
        ctx.fused = true;
        return fuse(parts, ctx);
      };
    case 'Strip': {
      const content = str(o, 'content', path);
      const start = int(o, 'start', path, 0);
      const stop = int(o, 'stop', path, 0);
      return (parts, ctx) => parts.map((p, i) => strip(p, content, ctx.fused && ctx.position + i > 0 ? 0 : start, stop));
    }
    case 'Replace': {
      const fn = replacer(o, path);
      return (parts) => parts.map((p) => (typeof p === 'string' ? fn(p) : p));
    }
    case 'Metaspace': {
      const replacement = str(o, 'replacement', path);
      const scheme = typeof o.prepend_scheme === 'string' ? o.prepend_scheme : bool(o, 'add_prefix_space', path, true) ? 'always' : 'never';
      return (parts, ctx) =>
        parts.map((p, i) => {
          if (typeof p !== 'string') return p;
          const s = p.split(replacement).join(' ');
          return scheme !== 'never' && ctx.position + i === 0 && s.startsWith(' ') ? s.slice(1) : s;
        });
    }
    default:
      return unsupported(path, o.type, SUPPORTED);
  }
}

/** ByteLevel: every char of the GPT-2 alphabet is a byte; the whole list becomes one part. */
const byteLevel: Decoder = (parts, ctx) => {
  const map = unicodeToByte();
  const bytes: Uint8Array[] = [];
  for (const p of parts) {
    if (typeof p !== 'string') {
      bytes.push(p);
      continue;
    }
    const out: number[] = [];
    for (const ch of p) {
      const b = map.get(ch);
      if (b !== undefined) out.push(b);
      else out.push(...utf8Encode(ch)); // outside the alphabet (e.g. added tokens): its UTF-8
    }
    bytes.push(Uint8Array.from(out));
  }
  const all = concatBytes(bytes);
  return [ctx.stream ? all : utf8Decode(all)];
};

/** ByteFallback: runs of <0xXX> tokens become bytes; invalid UTF-8 gives one U+FFFD per byte. */
const byteFallback: Decoder = (parts, ctx) => {
  const out: Part[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const bytes = Uint8Array.from(run);
    if (ctx.stream) out.push(bytes);
    else {
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        text = '\ufffd'.repeat(bytes.length);
      }
      out.push(text);
    }
    run = [];
  };
  for (const p of parts) {
    const m = typeof p === 'string' ? BYTE_TOKEN.exec(p) : null;
    if (m) run.push(parseInt(m[1], 16));
    else {
      flush();
      out.push(p);
    }
  }
  flush();
  return out;
};

/** Fuse: all parts become one (text when all are text, else bytes). */
function fuse(parts: Part[], ctx: DecodeContext): Part[] {
  if (parts.every((p) => typeof p === 'string')) return [(parts as string[]).join('')];
  if (!ctx.stream) return [parts.map((p) => (typeof p === 'string' ? p : utf8Decode(p))).join('')];
  return [concatBytes(parts.map((p) => (typeof p === 'string' ? utf8Encode(p) : p)))];
}

/** Strip: removes up to `start` leading and `stop` trailing `content` chars of a text part. */
function strip(p: Part, content: string, start: number, stop: number): Part {
  if (typeof p !== 'string') return p;
  const chars = Array.from(p);
  let a = 0;
  while (a < start && a < chars.length && chars[a] === content) a++;
  let b = chars.length;
  while (chars.length - b < stop && b > a && chars[b - 1] === content) b--;
  return chars.slice(a, b).join('');
}

/** Bytes of decoded parts (text parts as UTF-8). */
export function partsToBytes(parts: Part[]): Uint8Array {
  return concatBytes(parts.map((p) => (typeof p === 'string' ? utf8Encode(p) : p)));
}
