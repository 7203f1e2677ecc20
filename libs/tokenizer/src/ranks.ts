/*
 * Loading tiktoken rank data: for each encoding, the byte sequence of every token and its
 * rank (= its id), the split pattern and the special tokens.
 *
 * What it is: a reader of the rank data that the `js-tiktoken` npm package ships
 * (`js-tiktoken/ranks/<name>`: lines "! <offset> <base64 token> <base64 token> ...", ranks
 * consecutive from offset), and a reader/writer of the plain tiktoken rank file format
 * ("<base64 token> <rank>" per line) used by `.tiktoken` files and by trainBpe's output.
 * What it is not: a downloader; the data is read from node_modules at run time.
 * Reference: openai/tiktoken load.py load_tiktoken_bpe; js-tiktoken core.ts.
 */

import { TokenizerError } from './errors';

export type EncodingName = 'r50k_base' | 'p50k_base' | 'cl100k_base' | 'o200k_base';
export const ENCODING_NAMES: readonly EncodingName[] = ['r50k_base', 'p50k_base', 'cl100k_base', 'o200k_base'];

export interface RankData {
  name: string;
  pattern: string;
  /** tokenBytes[rank] = bytes of that token (undefined for holes in the id space). */
  tokenBytes: Array<Uint8Array | undefined>;
  specialTokens: Map<string, number>;
}

interface JsTiktokenRanks {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

/** Reads an encoding's rank data from the js-tiktoken package. */
export function loadEncodingData(name: string): RankData {
  if (!(ENCODING_NAMES as readonly string[]).includes(name)) {
    throw new TokenizerError(`unknown encoding ${JSON.stringify(name)} (expected one of ${ENCODING_NAMES.join(', ')})`, 'NOT_FOUND');
  }
  let mod: JsTiktokenRanks & { default?: JsTiktokenRanks };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(`js-tiktoken/ranks/${name}`);
  } catch (err) {
    throw new Error(`rank data for ${name} not found: install the js-tiktoken package (${(err as Error).message})`);
  }
  const data = mod.default ?? mod;
  return {
    name,
    pattern: data.pat_str,
    tokenBytes: parseCompressedRanks(data.bpe_ranks, name),
    specialTokens: new Map(Object.entries(data.special_tokens)),
  };
}

/** Parses js-tiktoken's "! offset tok tok ..." lines. */
export function parseCompressedRanks(text: string, source: string): Array<Uint8Array | undefined> {
  const out: Array<Uint8Array | undefined> = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const parts = line.split(' ');
    const offset = Number.parseInt(parts[1], 10);
    if (!Number.isInteger(offset) || offset < 0) throw new Error(`${source}: bad rank offset ${JSON.stringify(parts[1])}`);
    for (let i = 2; i < parts.length; i++) out[offset + i - 2] = base64Decode(parts[i], source);
  }
  return out;
}

/** Parses a tiktoken rank file: one "<base64 bytes> <rank>" per line. */
export function parseTiktokenFile(text: string, source = 'rank file'): Array<Uint8Array | undefined> {
  const out: Array<Uint8Array | undefined> = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (!line) continue;
    const [b64, rankStr, extra] = line.split(' ');
    const rank = Number(rankStr);
    if (extra !== undefined || !Number.isInteger(rank) || rank < 0 || !/^[A-Za-z0-9+/]*=*$/.test(b64)) {
      throw new Error(`${source} line ${n + 1}: expected "<base64 token> <rank>", got ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (out[rank] !== undefined) throw new Error(`${source} line ${n + 1}: rank ${rank} appears twice`);
    out[rank] = base64Decode(b64, `${source} line ${n + 1}`);
  }
  return out;
}

/** Writes tokens as a tiktoken rank file. */
export function formatTiktokenFile(tokenBytes: ReadonlyArray<Uint8Array | undefined>): string {
  const lines: string[] = [];
  tokenBytes.forEach((b, rank) => {
    if (b) lines.push(`${Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64')} ${rank}`);
  });
  return lines.join('\n') + '\n';
}

const B64 = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => (B64[c.charCodeAt(0)] = i));

/** Decodes standard padded base64 (a token of a rank file). */
export function base64Decode(s: string, source: string): Uint8Array {
  let n = s.length;
  while (n > 0 && s.charCodeAt(n - 1) === 61) n--; // strip '='
  const out = new Uint8Array((n * 3) >> 2);
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B64[c] : -1;
    if (v < 0) throw new Error(`${source}: invalid base64 token ${JSON.stringify(s.slice(0, 40))}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}
