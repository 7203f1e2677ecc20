/*
 * GrammarEngine: grammars over one model's vocabulary. Compiling an EBNF grammar builds its
 * pushdown automaton and, per automaton state, the tokens that are always / never allowed there
 * (the adaptive token-mask cache of xgrammar, Dong et al. 2024); compiled grammars are cached by
 * their text. A TokenMatcher is one sequence's position in a compiled grammar: per step its mask
 * is a cache lookup plus a check of the few context-dependent tokens, then `accept` advances it
 * by the sampled token.
 *
 *   engine = await GrammarEngine.create(vocab)          // once per model (~0.2 s for 128k tokens)
 *   g = await engine.compile(ebnf)                       // once per grammar, then cached
 *   m = await engine.matcher(g); mask = await m.nextTokenMask(); m.accept(id)   // per step
 *
 * Masks are bitmasks: bit (id & 31) of word id >> 5 is set when token id is allowed. EOS ids are
 * allowed only where the grammar may end; once it can only end, they are all that is allowed.
 *
 * What it is not: EBNF generation (spec.ts) or where masks are applied (the worker's sampler).
 */
import { GrammarError } from './errors';
import { loadXgrammar, takeEngineError, type XgCompiler, type XgHandle, type XgMatcher } from './xgrammar-binding';
import { Utf8Guard, type Utf8State } from './utf8-guard';
import { byteLevelSpelling, type TokenVocabulary } from './vocabulary';

export interface CompiledGrammar {
  /** The EBNF text it was compiled from (its cache key). */
  readonly ebnf: string;
  /** Time the compilation took, in ms (0 for a cache hit). */
  readonly compileMs: number;
  readonly handle: XgHandle;
}

export class TokenMatcher {
  private disposed = false;
  private utf8: Utf8State = Utf8Guard.start;

  constructor(
    private readonly m: XgMatcher,
    private readonly guard: Utf8Guard,
    readonly vocabSize: number,
  ) {}

  /** Allowed tokens at the current position, as a bitmask of ceil(V / 32) words (grammar AND valid UTF-8). */
  async nextTokenMask(): Promise<Int32Array> {
    const mask = await this.m.getNextTokenBitmask();
    const utf8 = this.guard.mask(this.utf8);
    for (let w = 0; w < mask.length; w++) mask[w] &= utf8[w];
    return mask;
  }

  /** Advances by one token; false (state unchanged) when the grammar does not allow it. */
  accept(tokenId: number): boolean {
    const ok = this.m.acceptToken(tokenId);
    if (ok) this.utf8 = this.guard.after(this.utf8, tokenId);
    return ok;
  }

  /** True once an EOS id was accepted where the grammar may end. */
  get isTerminated(): boolean {
    return this.m.isTerminated();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.m.dispose();
  }
}

export class GrammarEngine {
  private readonly cache = new Map<string, CompiledGrammar>();

  private constructor(
    private readonly compiler: XgCompiler,
    private readonly guard: Utf8Guard,
    readonly vocabSize: number,
    readonly eosTokenIds: readonly number[],
    private readonly maxCached: number,
  ) {}

  static async create(vocab: TokenVocabulary, opts: { maxCachedGrammars?: number } = {}): Promise<GrammarEngine> {
    const xg = loadXgrammar();
    const V = vocab.tokenBytes.length;
    const info = await xg.TokenizerInfo.createTokenizerInfo(byteLevelSpelling(vocab), 'byte_level', false, V, [...vocab.eosTokenIds]);
    const compiler = await xg.GrammarCompiler.createGrammarCompiler(info, true);
    return new GrammarEngine(compiler, new Utf8Guard(vocab.tokenBytes), V, vocab.eosTokenIds, opts.maxCachedGrammars ?? 256);
  }

  get numCachedGrammars(): number {
    return this.cache.size;
  }

  /** Compiles (or finds in the cache) an EBNF grammar whose start rule is `root`. */
  async compile(ebnf: string): Promise<CompiledGrammar> {
    const hit = this.cache.get(ebnf);
    if (hit) {
      this.cache.delete(ebnf); // LRU: most recently used last
      this.cache.set(ebnf, hit);
      return { ...hit, compileMs: 0 };
    }
    const t0 = performance.now();
    takeEngineError();
    let handle: XgHandle;
    try {
      handle = await this.compiler.compileGrammar(ebnf, 'root');
    } catch (err) {
      const why = takeEngineError() || (err instanceof Error ? err.message : String(err));
      throw new GrammarError(`grammar: ${why}`, 'grammar');
    }
    const compiled: CompiledGrammar = { ebnf, compileMs: performance.now() - t0, handle };
    this.cache.set(ebnf, compiled);
    while (this.cache.size > this.maxCached) {
      const [oldest, g] = this.cache.entries().next().value as [string, CompiledGrammar];
      this.cache.delete(oldest);
      g.handle.dispose(); // matchers keep their own reference
    }
    return compiled;
  }

  /** A matcher at the start of `grammar`. */
  async matcher(grammar: CompiledGrammar): Promise<TokenMatcher> {
    const m = await loadXgrammar().GrammarMatcher.createGrammarMatcher(grammar.handle, [...this.eosTokenIds], false, 0);
    return new TokenMatcher(m, this.guard, this.vocabSize);
  }
}

/** Whether token `id` is allowed by `mask`. */
export function maskAllows(mask: Int32Array, id: number): boolean {
  return ((mask[id >> 5] >>> (id & 31)) & 1) === 1;
}

/** logits[id] = -Infinity for every id the mask disallows.  logits: (V) */
export function applyTokenMask(logits: Float32Array, mask: Int32Array): void {
  const V = logits.length;
  for (let w = 0; w < mask.length; w++) {
    const bits = mask[w];
    if (bits === -1) continue; // all 32 allowed
    const base = w << 5;
    const end = Math.min(32, V - base);
    for (let b = 0; b < end; b++) if (((bits >>> b) & 1) === 0) logits[base + b] = -Infinity;
  }
}
