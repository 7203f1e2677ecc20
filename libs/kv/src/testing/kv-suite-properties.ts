/*
 * Property tests of the kv-manager over random interleavings of allocate / append
 * (chunked) / commit / fork / free / double free / evict, run against any KvDriver.
 *
 * The reference is independent of the implementation: a model of each live sequence's
 * tokens and table, and a WorkerSim that writes tokens into the slots the tables name.
 * After every operation:
 *   - every live sequence reads its own tokens back through its table (so no block was
 *     handed to two sequences unless their contents agree: fork or prefix sharing);
 *   - a block held by several tables sits at the same logical index with the same fill;
 *   - used blocks = distinct blocks over all tables, used + free = all usable blocks;
 *   - in process: ref count = number of tables holding the block, and a block is on the
 *     free queue exactly when its ref count is 0 (block 0: never);
 * and after freeing everything, every block is free.
 * Deliberately not a performance test (bench/ measures speed).
 */
import fc from 'fast-check';
import { expectKvError } from './kv-suite-examples';
import { DriverAllocation, KvDriver } from './kv-driver';
import { WorkerSim } from './worker-sim';

interface SeqModel {
  tokens: number[];
  computed: number;
  table: number[];
}

type Op =
  | { kind: 'new'; base: number; prefixLen: number; suffix: number[]; salt: number; chunk: number; commit: boolean }
  | { kind: 'step'; items: { pick: number; count: number }[]; chunk: number; commit: boolean }
  | { kind: 'fork'; pick: number; n: number }
  | { kind: 'free'; pick: number }
  | { kind: 'badFree'; pick: number }
  | { kind: 'evict'; n: number };

interface Scenario {
  numBlocks: number;
  blockSize: number;
  bases: number[][];
  ops: Op[];
}

const chunkArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('new' as const),
      base: fc.nat(2),
      // whole blocks of a shared base prompt are the interesting case for the prefix cache
      prefixLen: fc.oneof(fc.nat(24), fc.constantFrom(4, 8, 12, 16, 24)),
      suffix: fc.oneof(fc.constant<number[]>([]), fc.array(fc.nat(50), { maxLength: 8 })),
      salt: fc.nat(1),
      chunk: chunkArb,
      commit: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('step' as const),
      items: fc.array(fc.record({ pick: fc.nat(20), count: fc.nat(6) }), { minLength: 1, maxLength: 3 }),
      chunk: chunkArb,
      commit: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fork' as const), pick: fc.nat(20), n: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('badFree' as const), pick: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('evict' as const), n: fc.integer({ min: 1, max: 4 }) }) },
);

export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  numBlocks: fc.integer({ min: 4, max: 40 }),
  blockSize: fc.constantFrom(1, 2, 3, 4, 8),
  bases: fc.array(fc.array(fc.nat(50), { minLength: 24, maxLength: 24 }), { minLength: 3, maxLength: 3 }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' }),
});

/** How often the interesting paths ran, so a suite can assert the property was not vacuous. */
export interface Coverage {
  prefixHits: number;
  copies: number;
  outOfBlocks: number;
}

/** Replays one scenario on a fresh pool, checking the invariants after every operation. */
export class ScenarioRunner {
  private readonly live = new Map<string, SeqModel>();
  private readonly freed: string[] = [];
  private readonly sim: WorkerSim;
  private nextId = 0;
  private nextToken = 0;

  constructor(
    private readonly d: KvDriver,
    private readonly poolId: string,
    private readonly sc: Scenario,
    private readonly coverage: Coverage = { prefixHits: 0, copies: 0, outOfBlocks: 0 },
  ) {
    this.sim = new WorkerSim(sc.numBlocks, sc.blockSize);
  }

  private get bs(): number {
    return this.sc.blockSize;
  }

  private get usable(): number {
    return this.sc.numBlocks - 1;
  }

  async run(): Promise<void> {
    await this.d.registerPool(this.poolId, this.sc.numBlocks, this.sc.blockSize);
    for (const op of this.sc.ops) {
      await this.apply(op);
      await this.checkInvariants();
    }
    const ids = [...this.live.keys()];
    if (ids.length > 0) await this.d.free(this.poolId, ids);
    this.live.clear();
    await this.checkInvariants();
    expect(await this.d.stats(this.poolId)).toMatchObject({ numUsedBlocks: 0, numFreeBlocks: this.usable, numSequences: 0 });
  }

  private pick(k: number): string | undefined {
    const ids = [...this.live.keys()];
    return ids.length === 0 ? undefined : ids[k % ids.length];
  }

  private apply(op: Op): Promise<void> {
    switch (op.kind) {
      case 'new':
        return this.newSeq(op);
      case 'step':
        return this.step(op);
      case 'fork':
        return this.fork(op.pick, op.n);
      case 'free':
        return this.free(op.pick);
      case 'badFree':
        return this.badFree(op.pick);
      case 'evict':
        return this.d.evictCached ? this.d.evictCached(this.poolId, op.n).then(() => undefined) : Promise.resolve();
    }
  }

  private scheduled(chunk: number, available: number): number {
    return chunk > 0 ? Math.min(chunk, available) : available;
  }

  private async newSeq(op: Extract<Op, { kind: 'new' }>): Promise<void> {
    const tokens = this.sc.bases[op.base].slice(0, op.prefixLen).concat(op.suffix);
    if (tokens.length === 0) return;
    const seqId = `s${this.nextId++}`;
    const req = { seqId, newTokenIds: tokens, salt: op.salt ? 'tenant-b' : '', numTokensToCompute: op.chunk };
    if (Math.ceil(tokens.length / this.bs) > this.usable) {
      return expectKvError(this.d.allocateSlots(this.poolId, [req]), ['INVALID_ARGUMENT'], [seqId]);
    }
    const commit = op.commit ? [...this.live.keys()] : undefined;
    const res = await this.d.allocateSlots(this.poolId, [req], { commit });
    const s = res.sequences[0];
    if (s.numComputedTokens > 0) this.coverage.prefixHits++;
    if (!s.ok) this.coverage.outOfBlocks++;
    if (!s.ok) return void expect(s.blockTable).toEqual([]);
    const h = s.numComputedTokens;
    expect(h % this.bs).toBe(0);
    expect(h).toBeLessThan(tokens.length);
    expect(res.copies).toEqual([]);
    const computed = h + this.scheduled(op.chunk, tokens.length - h);
    this.sim.write(s.blockTable, tokens, h, computed);
    this.live.set(seqId, { tokens, computed, table: s.blockTable });
  }

  private async step(op: Extract<Op, { kind: 'step' }>): Promise<void> {
    const ids = [...new Set(op.items.map((it) => this.pick(it.pick)).filter((id): id is string => id !== undefined))];
    if (ids.length === 0) return;
    const reqs = ids.map((seqId, j) => ({
      seqId,
      newTokenIds: Array.from({ length: op.items[j]?.count ?? 1 }, () => this.nextToken++ % 50),
      numTokensToCompute: op.chunk,
    }));
    const commit = op.commit ? [...this.live.keys()] : undefined;
    const tooBig = reqs.find((r) => Math.ceil((this.live.get(r.seqId)!.tokens.length + r.newTokenIds.length) / this.bs) > this.usable);
    if (tooBig) return expectKvError(this.d.allocateSlots(this.poolId, reqs, { commit }), ['INVALID_ARGUMENT'], [tooBig.seqId]);
    const res = await this.d.allocateSlots(this.poolId, reqs, { commit });
    this.checkCopies(res, ids);
    this.coverage.copies += res.copies.length;
    this.coverage.outOfBlocks += res.sequences.filter((x) => !x.ok).length;
    this.sim.applyCopies(res.copies);
    let blocked = false;
    reqs.forEach((r, j) => {
      const s = res.sequences[j];
      const m = this.live.get(r.seqId)!;
      expect(s.seqId).toBe(r.seqId);
      if (blocked) expect(s.ok).toBe(false);
      if (!s.ok) {
        blocked = true;
        return void expect(s.blockTable).toEqual(m.table);
      }
      expect(s.numComputedTokens).toBe(m.computed);
      m.tokens.push(...r.newTokenIds);
      const next = m.computed + this.scheduled(op.chunk, m.tokens.length - m.computed);
      this.sim.write(s.blockTable, m.tokens, m.computed, next);
      m.computed = next;
      m.table = s.blockTable;
    });
  }

  /** Each copy replaces one served sequence's old partial last block by its new block. */
  private checkCopies(res: DriverAllocation, ids: string[]): void {
    for (const { src, dst } of res.copies) {
      const owners = ids.filter((id, j) => {
        const old = this.live.get(id)!.table;
        const i = old.length - 1;
        return res.sequences[j].ok && old[i] === src && res.sequences[j].blockTable[i] === dst;
      });
      expect(owners).toHaveLength(1);
    }
  }

  private async fork(pick: number, n: number): Promise<void> {
    const parent = this.pick(pick);
    if (parent === undefined) return;
    const m = this.live.get(parent)!;
    const children = Array.from({ length: n }, () => `s${this.nextId++}`);
    expect(await this.d.fork(this.poolId, parent, children)).toEqual(m.table);
    for (const c of children) this.live.set(c, { tokens: m.tokens.slice(), computed: m.computed, table: m.table.slice() });
  }

  private async free(pick: number): Promise<void> {
    const id = this.pick(pick);
    if (id === undefined) return;
    const others = new Set([...this.live].filter(([k]) => k !== id).flatMap(([, m]) => m.table));
    const expectReleased = this.live.get(id)!.table.filter((b) => !others.has(b)).length;
    expect(await this.d.free(this.poolId, [id])).toBe(expectReleased);
    this.live.delete(id);
    this.freed.push(id);
  }

  private async badFree(pick: number): Promise<void> {
    const id = this.pick(pick);
    if (id === undefined) return;
    const gone = this.freed[this.freed.length - 1];
    if (gone !== undefined) return expectKvError(this.d.free(this.poolId, [id, gone]), ['FAILED_PRECONDITION'], [gone]);
    return expectKvError(this.d.free(this.poolId, [id, `never-${id}`]), ['INVALID_ARGUMENT'], [`never-${id}`]);
  }

  private async checkInvariants(): Promise<void> {
    const holders = new Map<number, { index: number; fill: number }[]>();
    for (const [id, m] of this.live) {
      expect(await this.d.getBlockTable(this.poolId, id)).toEqual({
        blockTable: m.table,
        numTokens: m.tokens.length,
        numComputedTokens: m.computed,
      });
      expect(m.table.length).toBe(Math.ceil(m.computed / this.bs));
      expect(new Set(m.table).size).toBe(m.table.length);
      expect(this.sim.read(m.table, m.computed)).toEqual(m.tokens.slice(0, m.computed));
      m.table.forEach((b, index) => {
        expect(b).toBeGreaterThan(0);
        const fill = Math.min(this.bs, m.computed - index * this.bs);
        holders.set(b, [...(holders.get(b) ?? []), { index, fill }]);
      });
    }
    let usedSlots = 0;
    for (const hs of holders.values()) {
      for (const h of hs) expect(h).toEqual(hs[0]);
      usedSlots += hs[0].fill;
    }
    expect(await this.d.stats(this.poolId)).toMatchObject({
      numUsedBlocks: holders.size,
      numFreeBlocks: this.usable - holders.size,
      numSequences: this.live.size,
      numWastedSlots: holders.size * this.bs - usedSlots,
    });
    if (this.d.snapshot) await this.checkRefCounts(holders);
  }

  private async checkRefCounts(holders: Map<number, unknown[]>): Promise<void> {
    const snap = await this.d.snapshot!(this.poolId);
    expect(snap.refCounts[0]).toBe(0);
    const expectedFree: number[] = [];
    for (let b = 1; b < this.sc.numBlocks; b++) {
      expect(snap.refCounts[b]).toBe(holders.get(b)?.length ?? 0);
      if (!holders.has(b)) expectedFree.push(b);
    }
    expect([...snap.freeBlockIds].sort((x, y) => x - y)).toEqual(expectedFree);
  }
}

/** Registers the interleaving property on `getDriver()`; `numRuns` random scenarios. */
export function kvPropertySuite(getDriver: () => KvDriver, numRuns: number): void {
  it('keeps blocks consistent over random interleavings of allocate/append/commit/fork/free/evict', async () => {
    let run = 0;
    const tag = Date.now().toString(36);
    const coverage: Coverage = { prefixHits: 0, copies: 0, outOfBlocks: 0 };
    await fc.assert(
      fc.asyncProperty(scenarioArb, (sc) => new ScenarioRunner(getDriver(), `prop-${tag}-${run++}`, sc, coverage).run()),
      { numRuns },
    );
    // the generator is biased towards shared prefixes, forks and small pools: each path must have run
    expect(coverage.prefixHits).toBeGreaterThan(0);
    expect(coverage.copies).toBeGreaterThan(0);
    expect(coverage.outOfBlocks).toBeGreaterThan(0);
  });
}
