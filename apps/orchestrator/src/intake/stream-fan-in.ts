/*
 * StreamFanIn: the api role's reads of the requests' delta streams, all over one blocking Redis
 * connection. Before, each request in flight held a connection of its own blocked in XREAD, so every
 * token of every request was its own reply and its own re-issued XREAD (32 streaming clients: 32
 * socket writes per scheduler step). Here one loop runs `XREAD BLOCK ms STREAMS k1..kn id1..idn` over
 * every subscribed stream and hands each stream's new entries to its subscriber, in stream order.
 * A stream subscribed while the read is blocked would wait for the block to time out; instead the
 * read is interrupted with CLIENT UNBLOCK (from the control connection) and issued again with the
 * new stream. Should the UNBLOCK reach Redis before the XREAD it means to interrupt (two connections,
 * no ordering between them), it is retried for a few milliseconds; at worst the new stream waits
 * for blockMs.
 *
 *   api request A --subscribe(kA)--\
 *   api request B --subscribe(kB)----> one XREAD BLOCK over kA, kB, ... --> entries -> A, B, ...
 *
 * What it is not: a consumer group (each api process reads every entry of the streams it
 * subscribed, from the id given) or a place for per-request policy (outages, lost jobs, duplicates:
 * queue-intake.ts). A failed read fails every subscription of that read.
 */
import type { Redis } from 'ioredis';

export interface StreamListener {
  /** New entries of the stream, oldest first: [id, [field, value, ...]]. */
  onEntries(entries: [string, string[]][]): void;
  /** The read failed (the connection closed, or Redis refused it); the subscription stays until unsubscribed. */
  onError(err: Error): void;
}

interface Subscription extends StreamListener {
  lastId: string;
}

const UNBLOCK_TRIES = 20;

export class StreamFanIn {
  private readonly subs = new Map<string, Subscription>();
  private running = false;
  private closed = false;
  /** CLIENT ID of the reader connection (fetched again after it reconnects). */
  private readerId: number | undefined;
  /** Bumped each time a read returns: an UNBLOCK meant for an earlier read stops trying. */
  private readGeneration = 0;
  private blocked = false;
  /** Reads issued (what the tests read). */
  numReads = 0;

  constructor(
    private readonly reader: Redis,
    private readonly control: Redis,
    private readonly blockMs = 1000,
  ) {
    reader.on('ready', () => (this.readerId = undefined));
  }

  get numSubscriptions(): number {
    return this.subs.size;
  }

  /** Reads stream `key` after entry `fromId` ('0-0': from its start) until the returned function is called. */
  subscribe(key: string, fromId: string, listener: StreamListener): () => void {
    if (this.closed) throw new Error('the stream reader is closed');
    if (this.subs.has(key)) throw new Error(`stream ${key} is subscribed already`);
    const sub: Subscription = { lastId: fromId, onEntries: (e) => listener.onEntries(e), onError: (err) => listener.onError(err) };
    this.subs.set(key, sub);
    if (!this.running) void this.run();
    else if (this.blocked) void this.unblock(this.readGeneration);
    return () => {
      if (this.subs.get(key) === sub) this.subs.delete(key); // the next read leaves it out
    };
  }

  /** Stops reading: every subscription of a read in progress gets the connection's error. */
  close(): void {
    this.closed = true;
    this.reader.disconnect();
  }

  private async unblock(generation: number): Promise<void> {
    for (let i = 0; i < UNBLOCK_TRIES && generation === this.readGeneration && !this.closed; i++) {
      const id = this.readerId;
      const n = id === undefined ? 0 : await this.control.client('UNBLOCK', id).catch(() => 0);
      if (n === 1) return;
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.subs.size > 0) {
        let res: [string, [string, string[]][]][] | null;
        let read: [string, Subscription][] = [];
        try {
          this.readerId ??= Number(await this.reader.client('ID'));
          read = [...this.subs.entries()]; // from here to the XREAD nothing awaits: a later subscribe sees `blocked`
          this.numReads++;
          this.blocked = true;
          res = (await this.reader.xread('BLOCK', this.blockMs, 'STREAMS', ...read.map(([k]) => k), ...read.map(([, s]) => s.lastId))) as typeof res;
        } catch (err) {
          for (const [key, sub] of read) if (this.subs.get(key) === sub) sub.onError(err as Error);
          if (this.closed) return;
          await new Promise((r) => setTimeout(r, 50)); // a refused read: do not spin
          continue;
        } finally {
          this.blocked = false;
          this.readGeneration++;
        }
        for (const [key, entries] of res ?? []) {
          const sub = this.subs.get(key);
          if (!sub || entries.length === 0) continue; // unsubscribed while the read was out
          sub.lastId = entries[entries.length - 1][0];
          sub.onEntries(entries);
        }
      }
    } finally {
      this.running = false;
    }
    if (!this.closed && this.subs.size > 0) void this.run(); // subscribed as the loop ended
  }
}
