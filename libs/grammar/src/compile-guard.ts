/*
 * CompileGuard: the admission check for grammars. It compiles a grammar on a worker thread, so
 * the caller's event loop (the orchestrator's API and scheduling loop) never waits on it, and
 * gives up after a time limit: a pathological grammar is refused with a GrammarError instead of
 * stalling anything, and the stuck thread is terminated and replaced. One compilation at a time.
 *
 * What it is not: the compiled grammars the worker uses (the attention worker compiles again,
 * from its cache); this only answers "does it compile, and how long did it take".
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { GrammarError } from './errors';
import { byteLevelSpelling, type TokenVocabulary } from './vocabulary';

export interface CompileCheck {
  /** Compilation time on the thread, in ms. */
  compileMs: number;
}

export class CompileGuard {
  private worker: Worker | undefined;
  private readonly spelling: string[];
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 0;
  private readonly cache = new Map<string, CompileCheck>();

  constructor(
    private readonly vocab: TokenVocabulary,
    readonly timeoutMs: number,
  ) {
    this.spelling = byteLevelSpelling(vocab);
  }

  /** Compiles `ebnf` on the thread; a GrammarError when it fails or takes longer than the limit. */
  check(ebnf: string): Promise<CompileCheck> {
    const hit = this.cache.get(ebnf);
    if (hit) return Promise.resolve({ compileMs: 0 });
    const run = this.queue.then(() => this.compileOnThread(ebnf));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private thread(): Worker {
    if (!this.worker) {
      this.worker = new Worker(join(__dirname, 'compile-thread.js'), {
        workerData: { vocab: this.spelling, eos: this.vocab.eosTokenIds, resolveFrom: __dirname },
      });
      this.worker.unref();
    }
    return this.worker;
  }

  private compileOnThread(ebnf: string): Promise<CompileCheck> {
    const w = this.thread();
    const id = this.nextId++;
    return new Promise<CompileCheck>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        this.worker = undefined;
        void w.terminate();
        reject(new GrammarError(`grammar: compiling took longer than ${this.timeoutMs} ms; simplify the schema or grammar`, 'grammar'));
      }, this.timeoutMs);
      const onMessage = (msg: { id: number; ms?: number; error?: string }) => {
        if (msg.id !== id) return;
        cleanup();
        if (msg.error !== undefined) return reject(new GrammarError(`grammar: ${msg.error}`, 'grammar'));
        const res = { compileMs: msg.ms as number };
        this.cache.set(ebnf, res);
        if (this.cache.size > 1024) this.cache.delete(this.cache.keys().next().value as string);
        resolve(res);
      };
      const onError = (err: Error) => {
        cleanup();
        this.worker = undefined;
        reject(err);
      };
      const cleanup = () => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.postMessage({ id, ebnf });
    });
  }
}
