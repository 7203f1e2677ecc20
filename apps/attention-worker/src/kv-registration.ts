/*
 * Registers the worker's KV pool with the kv-manager under the worker's id, so the allocator's
 * pool has exactly the worker's num_blocks and block_size (ARCHITECTURE.md: one owner per piece
 * of state; the kv-manager owns block assignment, the worker owns the memory).
 *
 * PoolRegistration keeps it registered: the first registration resets what a predecessor left
 * (a restarted worker), is retried until the kv-manager answers (the worker is not ready and
 * refuses steps until then), and a watchdog registers the pool again when a restarted kv-manager
 * lost it. Each change is one log line.
 */
import type { Client } from 'nice-grpc';
import type { kv } from '@llm/proto';
import { createLogger, reasonOf } from '@llm/platform';

export type KvManagerClient = Client<typeof kv.KvManagerDefinition, { deadline?: Date | number }>;

/**
 * Returns whether a pool of this id and shape already existed (a worker restart). A restarted
 * worker's memory is empty, so the kv-manager's view of that pool (sequences, prefix-cache
 * entries pointing at K/V that no longer exist) is reset.
 */
export async function registerPool(client: KvManagerClient, workerId: string, numBlocks: number, blockSize: number): Promise<boolean> {
  const res = await client.registerPool({ poolId: workerId, numBlocks, blockSizeTokens: blockSize });
  if (res.existed) await client.reset({ poolId: workerId });
  return res.existed;
}

/** Keeps the worker's pool registered with the kv-manager (see above). */
export class PoolRegistration {
  registered = false;
  /** Why the pool is not registered now. */
  problem: string | undefined = 'not registered with the kv-manager yet';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly log = createLogger('attention-worker');

  constructor(
    private readonly client: KvManagerClient,
    private readonly workerId: string,
    private readonly numBlocks: number,
    private readonly blockSize: number,
    private readonly watchMs = 2000,
  ) {}

  /** Registers now (resetting a predecessor's state) or keeps trying in the background; then watches. */
  async start(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        const existed = await registerPool(this.client, this.workerId, this.numBlocks, this.blockSize);
        this.set(true, `registered pool ${this.workerId} (${this.numBlocks} blocks x ${this.blockSize} tokens) with the kv-manager${existed ? ' (reset what a previous worker left)' : ''}`);
        break;
      } catch (err) {
        this.set(false, `cannot register pool ${this.workerId} with the kv-manager: ${reasonOf(err)}; retrying`);
        await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt++)));
      }
    }
    if (!this.stopped) this.watch();
  }

  private watch(): void {
    this.timer = setInterval(() => void this.check(), this.watchMs);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    try {
      const res = await this.client.registerPool({ poolId: this.workerId, numBlocks: this.numBlocks, blockSizeTokens: this.blockSize }, { deadline: this.watchMs });
      this.set(true, res.existed ? 'kv-manager answers again; pool still registered' : `kv-manager had lost pool ${this.workerId} (restarted?); registered it again`);
    } catch (err) {
      this.set(false, `kv-manager unreachable: ${reasonOf(err)}`);
    }
  }

  private set(ok: boolean, line: string): void {
    const changed = ok !== this.registered || (!ok && this.problem === 'not registered with the kv-manager yet');
    this.registered = ok;
    this.problem = ok ? undefined : line;
    if (!changed && !line.includes('registered it again')) return;
    if (ok) this.log.info(line);
    else this.log.warn(line);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }
}
