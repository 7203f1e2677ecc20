/*
 * Validation of one allocateSlots batch, done in full before anything changes so a bad
 * request leaves the pool exactly as it was. Also resolves each request's `isNew` when
 * the caller left it unset (the gRPC contract): a known id appends, an unknown id starts
 * a sequence, except an id freed by the expiry of the same owner's lease (that owner is
 * a scheduler presumed dead: its late step must fail, not silently restart the sequence).
 * Deliberately no allocation here.
 */
import { failedPrecondition, invalidArgument } from './errors';
import { blocksFor, checkSeqId, checkTokenIds } from './sequence';
import { SequenceRegistry } from './sequence-registry';
import { SlotRequest } from './types';

export interface PoolShape {
  blockSize: number;
  numUsableBlocks: number;
}

/** Throws a KvError for the first bad request; returns whether each request starts a sequence. */
export function checkRequests(
  requests: readonly SlotRequest[],
  registry: SequenceRegistry,
  owner: string | undefined,
  shape: PoolShape,
): boolean[] {
  if (!Array.isArray(requests)) throw invalidArgument('requests must be an array of {seqId, newTokenIds}');
  const seen = new Set<string>();
  return requests.map((r, i) => {
    checkSeqId(r?.seqId, `requests[${i}].seqId`);
    if (seen.has(r.seqId)) throw invalidArgument(`sequence ${r.seqId} appears twice in one allocateSlots call`);
    seen.add(r.seqId);
    checkTokenIds(r.seqId, r.newTokenIds);
    checkOptionalFields(r);
    const isNew = resolveIsNew(r, registry, owner);
    let total = r.newTokenIds.length;
    const accepted = r.numAcceptedLookaheadTokens ?? 0;
    if (isNew) {
      if (total === 0) throw invalidArgument(`new sequence ${r.seqId} has no tokens (send its prompt as newTokenIds)`);
      if (accepted > 0) throw invalidArgument(`new sequence ${r.seqId} has no lookahead slots: numAcceptedLookaheadTokens must be 0`);
    } else {
      const seq = registry.lookup(r.seqId, owner);
      total += seq.numTokens;
      if (accepted > seq.numLookaheadSlots) {
        throw invalidArgument(`sequence ${r.seqId}: numAcceptedLookaheadTokens (${accepted}) exceeds the ${seq.numLookaheadSlots} lookahead slots its previous step was granted`);
      }
    }
    checkCapacity(r.seqId, total, shape);
    return isNew;
  });
}

function checkOptionalFields(r: SlotRequest): void {
  if (r.salt !== undefined && typeof r.salt !== 'string') {
    throw invalidArgument(`sequence ${r.seqId}: salt must be a string`);
  }
  for (const field of ['numTokensToCompute', 'numLookaheadTokens', 'numAcceptedLookaheadTokens'] as const) {
    const n = r[field];
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) {
      throw invalidArgument(`sequence ${r.seqId}: ${field} must be a non-negative integer, got ${n}`);
    }
  }
  const m = r.numAcceptedLookaheadTokens ?? 0;
  if (m > r.newTokenIds.length) {
    throw invalidArgument(`sequence ${r.seqId}: numAcceptedLookaheadTokens (${m}) exceeds the ${r.newTokenIds.length} new token ids`);
  }
}

function resolveIsNew(r: SlotRequest, registry: SequenceRegistry, owner: string | undefined): boolean {
  const exists = registry.has(r.seqId);
  if (r.isNew === true && exists) {
    throw failedPrecondition(`sequence ${r.seqId} already exists (free it first, or append without isNew)`);
  }
  if (r.isNew !== undefined) return r.isNew;
  if (!exists && owner !== undefined && registry.expiredOwnerOf(r.seqId) === owner) {
    throw failedPrecondition(
      `sequence ${r.seqId} was freed when the lease of owner ${owner} expired; renew the lease in time, ` +
        'or re-admit the request under a fresh owner id',
    );
  }
  return !exists;
}

function checkCapacity(seqId: string, numTokens: number, shape: PoolShape): void {
  const need = blocksFor(numTokens, shape.blockSize);
  if (need > shape.numUsableBlocks) {
    throw invalidArgument(
      `sequence ${seqId} would hold ${numTokens} tokens = ${need} blocks of ${shape.blockSize}, ` +
        `more than this pool's ${shape.numUsableBlocks} usable blocks can ever hold (shorten it or use a larger pool)`,
    );
  }
}
