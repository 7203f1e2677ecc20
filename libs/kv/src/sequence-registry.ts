/*
 * SequenceRegistry: the live sequences of one pool by id and by owner, plus a bounded
 * memory of ids that were freed (by their owner, or because the owner's lease expired),
 * so misuse gets a specific message: "already freed", "freed when its lease expired".
 * Deliberately no block logic: KvCacheManager moves the blocks.
 */
import { failedPrecondition, invalidArgument } from './errors';
import { RecentIds } from './recent-ids';
import { Sequence, checkSeqId } from './sequence';

export class SequenceRegistry {
  private readonly seqs = new Map<string, Sequence>();
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly freed = new RecentIds();
  /** seqId -> the owner whose lease expiry freed it (bounded like `freed`). */
  private readonly expired = new Map<string, string>();

  get size(): number {
    return this.seqs.size;
  }

  has(seqId: string): boolean {
    return this.seqs.has(seqId);
  }

  get(seqId: string): Sequence | undefined {
    return this.seqs.get(seqId);
  }

  ids(): string[] {
    return [...this.seqs.keys()];
  }

  values(): IterableIterator<Sequence> {
    return this.seqs.values();
  }

  ofOwner(owner: string): string[] {
    return [...(this.byOwner.get(owner) ?? [])];
  }

  /** The owner whose expired lease freed `seqId`, if that is how it ended. */
  expiredOwnerOf(seqId: string): string | undefined {
    return this.expired.get(seqId);
  }

  /** Whether `seqId` is not live but remembered as freed (by its owner or by lease expiry). */
  wasFreed(seqId: string): boolean {
    return !this.seqs.has(seqId) && (this.freed.has(seqId) || this.expired.has(seqId));
  }

  add(seq: Sequence): void {
    this.seqs.set(seq.seqId, seq);
    this.freed.delete(seq.seqId);
    this.expired.delete(seq.seqId);
    let ids = this.byOwner.get(seq.owner);
    if (!ids) this.byOwner.set(seq.owner, (ids = new Set()));
    ids.add(seq.seqId);
  }

  /** Forgets a live sequence; `expiredOwner` marks it as freed by lease expiry. */
  remove(seq: Sequence, expiredOwner?: string): void {
    this.seqs.delete(seq.seqId);
    this.freed.add(seq.seqId);
    if (expiredOwner !== undefined) {
      this.expired.set(seq.seqId, expiredOwner);
      if (this.expired.size > this.freed.capacity) this.expired.delete(this.expired.keys().next().value as string);
    }
    const ids = this.byOwner.get(seq.owner);
    ids?.delete(seq.seqId);
    if (ids?.size === 0) this.byOwner.delete(seq.owner);
  }

  /** Forgets every sequence (remembering them as freed). */
  clear(): void {
    for (const id of this.seqs.keys()) this.freed.add(id);
    this.seqs.clear();
    this.byOwner.clear();
  }

  /** The live sequence `seqId`, or a KvError saying why there is none; checks the owner when given. */
  lookup(seqId: string, owner: string | undefined): Sequence {
    const seq = this.seqs.get(seqId);
    if (!seq) {
      const expiredOwner = this.expired.get(seqId);
      if (expiredOwner !== undefined) {
        throw failedPrecondition(`sequence ${seqId} was freed when the lease of owner ${expiredOwner} expired`);
      }
      if (this.freed.has(seqId)) throw failedPrecondition(`sequence ${seqId} was already freed`);
      throw invalidArgument(`unknown sequence ${seqId} (never allocated in this pool)`);
    }
    if (owner !== undefined && seq.owner !== owner) {
      throw failedPrecondition(`sequence ${seqId} belongs to owner ${JSON.stringify(seq.owner)}, not ${JSON.stringify(owner)}`);
    }
    return seq;
  }

  /** lookup() for a list of distinct ids; `field` names the list in errors. */
  lookupAll(seqIds: readonly string[], field: string, owner: string | undefined): Sequence[] {
    if (!Array.isArray(seqIds)) throw invalidArgument(`${field} must be an array of sequence ids`);
    const seen = new Set<string>();
    return seqIds.map((id, i) => {
      checkSeqId(id, `${field}[${i}]`);
      if (seen.has(id)) throw invalidArgument(`sequence ${id} is listed twice in ${field}`);
      seen.add(id);
      return this.lookup(id, owner);
    });
  }
}
