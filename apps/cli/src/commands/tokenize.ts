/*
 * `llm tokenize`, `llm detokenize`, `llm train-tokenizer`: encode text to ids, decode ids to
 * text, and train a byte-level BPE tokenizer, with the tokenizers of @llm/tokenizer
 * (tiktoken encodings by name, or any Hugging Face tokenizer.json).
 * Thin: flags -> library calls; one-line errors that name the flag or file.
 * Not the service: `apps/tokenizer-service` serves the same library over gRPC.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  ENCODING_NAMES,
  getEncoding,
  loadTokenizerJson,
  toTiktokenRanks,
  toTokenizerJson,
  trainBpe,
  type EncodeOptions,
  type EncodingName,
  type Tokenizer,
} from '@llm/tokenizer';
import { CliError } from '../errors';
import type { RegisterCommand } from './index';

interface SourceFlags {
  encoding?: string;
  tokenizer?: string;
}

/** The tokenizer named by --encoding or --tokenizer (a tokenizer.json, or a directory holding one). */
export function loadTokenizerFromFlags(flags: SourceFlags): Tokenizer {
  if (!!flags.encoding === !!flags.tokenizer) {
    throw new CliError(`pass exactly one of --encoding NAME (${ENCODING_NAMES.join(', ')}) or --tokenizer FILE (a tokenizer.json)`);
  }
  if (flags.encoding) {
    if (!(ENCODING_NAMES as readonly string[]).includes(flags.encoding)) {
      throw new CliError(`--encoding ${flags.encoding}: unknown encoding (expected one of ${ENCODING_NAMES.join(', ')})`);
    }
    return getEncoding(flags.encoding as EncodingName);
  }
  let file = flags.tokenizer!;
  if (!existsSync(file)) throw new CliError(`--tokenizer ${file}: no such file (expected a tokenizer.json or a directory holding one)`);
  if (statSync(file).isDirectory()) {
    file = join(file, 'tokenizer.json');
    if (!existsSync(file)) throw new CliError(`--tokenizer ${flags.tokenizer}: the directory has no tokenizer.json`);
  }
  try {
    return loadTokenizerJson(readFileSync(file, 'utf8'), file);
  } catch (err) {
    throw new CliError(`--tokenizer ${file}: ${(err as Error).message}`);
  }
}

function readInput(flags: { text?: string; file?: string }, what: string): string {
  if ((flags.text === undefined) === (flags.file === undefined)) throw new CliError(`pass exactly one of --text ${what} or --file FILE`);
  if (flags.text !== undefined) return flags.text;
  if (!existsSync(flags.file!)) throw new CliError(`--file ${flags.file}: no such file`);
  return readFileSync(flags.file!, 'utf8');
}

/** "all", "none" or a comma-separated list of special tokens. */
function specialSet(flag: string, v: string | undefined): EncodeOptions['allowedSpecial'] {
  if (v === undefined) return undefined;
  if (v === 'all') return 'all';
  if (v === 'none') return [];
  return v.split(',').filter(Boolean);
}

/** Ids from text: a JSON array, or integers separated by commas/whitespace. */
export function parseIds(s: string, flag: string): number[] {
  const t = s.trim();
  let ids: unknown;
  if (t.startsWith('[')) {
    try {
      ids = JSON.parse(t);
    } catch {
      throw new CliError(`${flag}: not a valid JSON array of token ids`);
    }
  } else ids = t === '' ? [] : t.split(/[\s,]+/).map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 0)) {
    throw new CliError(`${flag}: expected non-negative integer token ids (e.g. 1,2,3 or [1,2,3])`);
  }
  return ids as number[];
}

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${what}: ${(err as Error).message}`);
  }
}

function printExplain(tok: Tokenizer, text: string, opts: EncodeOptions): void {
  const ex = tok.explain(text, opts);
  for (const p of ex.pieces) {
    process.stdout.write(`${JSON.stringify(p.text)}${p.special ? ' (special)' : ''}\n  symbols: ${p.initial.join(' ')}\n`);
    if (p.direct && !p.special && p.merges.length === 0 && p.initial.length > 1) process.stdout.write('  whole piece is a token\n');
    for (const m of p.merges) process.stdout.write(`  merge ${m.left} + ${m.right} -> ${m.merged} (rank ${m.rank}): ${m.symbols.join(' ')}\n`);
    process.stdout.write(`  ids: ${p.ids.join(' ')}\n`);
  }
}

export const registerTokenize: RegisterCommand = (program: Command) => {
  program
    .command('tokenize')
    .description('encode text to token ids')
    .option('--encoding <name>', `tiktoken encoding: ${ENCODING_NAMES.join(', ')}`)
    .option('--tokenizer <file>', 'a Hugging Face tokenizer.json (or a directory holding one)')
    .option('--text <text>', 'the text to encode')
    .option('--file <file>', 'read the text from a file')
    .option('--allowed-special <list>', 'special tokens to encode as such: all, none, or a comma-separated list')
    .option('--no-special-check', 'encode disallowed special tokens as plain text instead of failing')
    .option('--no-add-special-tokens', 'tokenizer.json: do not add BOS/EOS from the post-processor')
    .option('--json', 'print a JSON array')
    .option('--explain', 'print the pre-tokenized pieces and the merges applied to each')
    .action((flags) => {
      const tok = loadTokenizerFromFlags(flags);
      const text = readInput(flags, 'TEXT');
      const opts: EncodeOptions = {
        allowedSpecial: specialSet('--allowed-special', flags.allowedSpecial),
        disallowedSpecial: flags.specialCheck === false ? [] : undefined,
        addSpecialTokens: flags.addSpecialTokens,
      };
      if (flags.explain) return wrap('tokenize', () => printExplain(tok, text, opts));
      const ids = wrap('tokenize', () => {
        try {
          return tok.encode(text, opts);
        } catch (err) {
          const msg = (err as Error).message;
          if (!msg.includes('disallowed special token')) throw err;
          throw new CliError(`tokenize: ${msg.split(';')[0]} (pass --allowed-special all to encode it as a special token, or --no-special-check to encode it as text)`);
        }
      });
      process.stdout.write(flags.json ? `${JSON.stringify(ids)}\n` : `${ids.join(' ')}\n`);
    });

  program
    .command('detokenize')
    .description('decode token ids to text')
    .option('--encoding <name>', `tiktoken encoding: ${ENCODING_NAMES.join(', ')}`)
    .option('--tokenizer <file>', 'a Hugging Face tokenizer.json (or a directory holding one)')
    .option('--ids <ids>', 'token ids: 1,2,3 or "1 2 3" or [1,2,3]')
    .option('--file <file>', 'read the ids from a file (same formats)')
    .option('--skip-special', 'leave special tokens out of the text')
    .action((flags) => {
      const tok = loadTokenizerFromFlags(flags);
      const ids = parseIds(readInput({ text: flags.ids, file: flags.file }, 'IDS'), flags.ids !== undefined ? '--ids' : `--file ${flags.file}`);
      const text = wrap('detokenize', () => tok.decode(ids, { skipSpecialTokens: !!flags.skipSpecial }));
      process.stdout.write(`${text}\n`);
    });

  program
    .command('train-tokenizer')
    .description('train a byte-level BPE tokenizer; writes tokenizer.json and tokenizer.tiktoken')
    .requiredOption('--input <file>', 'training text')
    .requiredOption('--vocab-size <n>', 'final vocabulary size: 256 bytes + merges + special tokens')
    .requiredOption('--out <dir>', 'output directory')
    .option('--special <tokens>', 'comma-separated special tokens (given the last ids)')
    .option('--pattern <regex>', 'pre-tokenizer split pattern (default: GPT-2)')
    .action((flags) => {
      const vocabSize = Number(flags.vocabSize);
      if (!/^\d+$/.test(flags.vocabSize) || vocabSize < 256) throw new CliError(`--vocab-size ${flags.vocabSize}: expected an integer >= 256`);
      if (!existsSync(flags.input)) throw new CliError(`--input ${flags.input}: no such file`);
      const corpus = readFileSync(flags.input, 'utf8');
      const specialTokens = flags.special ? String(flags.special).split(',').filter(Boolean) : [];
      let last = -1;
      const trained = wrap('train-tokenizer', () =>
        trainBpe(corpus, {
          vocabSize,
          specialTokens,
          pattern: flags.pattern,
          onProgress: (done, total) => {
            const pct = Math.floor((100 * done) / total);
            if (pct >= last + 10 || done === total) {
              process.stderr.write(`train-tokenizer: ${done}/${total} merges\n`);
              last = pct;
            }
          },
        }),
      );
      mkdirSync(flags.out, { recursive: true });
      writeFileSync(join(flags.out, 'tokenizer.json'), JSON.stringify(toTokenizerJson(trained)));
      writeFileSync(join(flags.out, 'tokenizer.tiktoken'), toTiktokenRanks(trained));
      process.stdout.write(`wrote ${join(flags.out, 'tokenizer.json')} and tokenizer.tiktoken (${vocabSize} ids, ${trained.merges.length} merges)\n`);
    });
};
