/*
 * WorkerLease: "each worker is driven by exactly one scheduler at a time". A Redis key per worker
 * (SET key owner NX PX ttl), renewed by its holder every ttl/3 with a compare-and-extend script;
 * if the holder dies the key expires and another scheduler may take the worker. The same timer
 * renews the scheduler's lease at the kv-manager (RenewLease), so a dead scheduler's sequences are
 * freed there too.
 * Each acquire and renewal also records the holder in a sorted set of live schedulers (score: the
 * lease's expiry), which the api role reads for its readiness ("a scheduler holds a live lease").
 * What it is not: a fencing-token lock; a scheduler that loses its lease stops consuming (onLost).
 */
import type { Redis } from 'ioredis';

const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export interface WorkerLeaseOptions {
  redis: Redis;
  key: string;
  ownerId: string;
  ttlMs: number;
  /** Extra work on every renewal (the kv-manager's RenewLease). */
  onRenew?: () => Promise<void>;
  onLost?: () => void;
  onError?: (err: unknown) => void;
  /** The live-schedulers sorted set to record this holder in. */
  heartbeatKey?: string;
  /** Called while waiting for a lease someone else holds (with the holder), for readiness. */
  onWaiting?: (holder: string | null) => void;
}

export class WorkerLease {
  private timer: NodeJS.Timeout | undefined;
  private held = false;
  private live = true;

  constructor(private readonly opts: WorkerLeaseOptions) {}

  /** Waits until the lease is ours (polling every ttl/3) or `signal` aborts; then keeps renewing. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const { redis, key, ownerId, ttlMs } = this.opts;
    while (!signal?.aborted) {
      const ok = await redis.set(key, ownerId, 'PX', ttlMs, 'NX');
      if (ok === 'OK') break;
      // A restart of this same scheduler (same id) takes its own lease back at once.
      if ((await redis.eval(RENEW, 1, key, ownerId, String(ttlMs))) === 1) break;
      this.opts.onWaiting?.(await redis.get(key));
      await new Promise((r) => setTimeout(r, Math.max(50, ttlMs / 3)));
    }
    if (signal?.aborted) throw new Error(`gave up waiting for worker lease ${key}`);
    this.held = true;
    await this.heartbeat();
    await this.opts.onRenew?.();
    this.timer = setInterval(() => void this.renew(), Math.max(50, Math.floor(ttlMs / 3)));
  }

  private async renew(): Promise<void> {
    try {
      const ok = await this.opts.redis.eval(RENEW, 1, this.opts.key, this.opts.ownerId, String(this.opts.ttlMs));
      if (ok !== 1) {
        this.stop();
        this.opts.onLost?.();
        return;
      }
      await this.heartbeat();
      await this.opts.onRenew?.();
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  /** Records this holder as live until the lease would expire; drops entries that expired. */
  private async heartbeat(): Promise<void> {
    const { heartbeatKey: hk, redis, ownerId, ttlMs } = this.opts;
    if (!hk || !this.held) return;
    const now = Date.now();
    if (this.live) await redis.multi().zadd(hk, now + ttlMs, ownerId).zremrangebyscore(hk, '-inf', now).exec();
    else await redis.zrem(hk, ownerId);
  }

  /** Whether this holder counts as a live scheduler (its own dependencies answer); applied at once. */
  async setLive(live: boolean): Promise<void> {
    if (this.live === live) return;
    this.live = live;
    await this.heartbeat().catch(() => undefined);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.held = false;
  }

  /** Stops renewing and gives the worker back. */
  async release(): Promise<void> {
    const wasHeld = this.held;
    this.stop();
    if (wasHeld) await this.opts.redis.eval(RELEASE, 1, this.opts.key, this.opts.ownerId).catch(() => undefined);
    if (wasHeld && this.opts.heartbeatKey) await this.opts.redis.zrem(this.opts.heartbeatKey, this.opts.ownerId).catch(() => undefined);
  }
}
