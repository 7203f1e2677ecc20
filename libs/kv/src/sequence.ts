/*
 * The manager's record of one sequence: its block table, token count and, for prefix
 * caching, the hashes of its full blocks plus the tokens of its partial last block.
 * Deliberately stores no full token list: a full block's tokens are summed up by its hash.
 *
 * Slots exist only for computed (or this step's scheduled) tokens: with chunked prefill
 * a sequence can hold more appended tokens than slots.
 *
 *   numTokens = 45, numComputedTokens = 37, BS = 16:
 *   logical  | block 0        | block 1        | block 2        |
 *   physical |      b12       |       b4       |      b31       |
 *   slots    |################|################|#####...........|   tokens 37..44: no slot yet
 *   blockHashes = [h0, h1]   tailTokens = tokens[32..45)   waste = 3*16 - 37 = 11 slots
 *
 * Invariant: blockTable.length = ceil((numComputedTokens + numLookaheadSlots) / BS).
 * Lookahead slots (speculative decoding) follow the computed ones; they hold draft tokens' K/V
 * that the manager never sees; the next allocation keeps the accepted ones and drops the rest.
 */
import { BlockHash, hashFullBlocks } from './block-hash';
import { invalidArgument } from './errors';

export interface Sequence {
  readonly seqId: string;
  readonly owner: string;
  readonly salt: string | undefined;
  blockTable: number[];
  /** Tokens appended so far. */
  numTokens: number;
  /** Tokens computed by earlier steps plus those scheduled by the latest one; they have slots. */
  numComputedTokens: number;
  /** Hashes of full blocks 0..k-1, k = floor(numTokens / BS) (empty without prefix caching). */
  blockHashes: BlockHash[];
  /** Tokens of the partial last block: numTokens % BS of them. */
  tailTokens: number[];
  /** Leading full blocks already committed to the prefix cache. */
  numCommittedBlocks: number;
  /** Slots past numComputedTokens granted to the latest step for draft tokens. */
  numLookaheadSlots: number;
}

export function newSequence(seqId: string, owner: string, salt: string | undefined): Sequence {
  return {
    seqId,
    owner,
    salt,
    blockTable: [],
    numTokens: 0,
    numComputedTokens: 0,
    blockHashes: [],
    tailTokens: [],
    numCommittedBlocks: 0,
    numLookaheadSlots: 0,
  };
}

/** A child sharing every block and all token state of `parent`, owned by `owner`. */
export function forkSequence(parent: Sequence, childId: string, owner: string): Sequence {
  return {
    seqId: childId,
    owner,
    salt: parent.salt,
    blockTable: parent.blockTable.slice(),
    numTokens: parent.numTokens,
    numComputedTokens: parent.numComputedTokens,
    blockHashes: parent.blockHashes.slice(),
    tailTokens: parent.tailTokens.slice(),
    numCommittedBlocks: parent.numCommittedBlocks,
    numLookaheadSlots: 0,
  };
}

/**
 * Appends token ids to the sequence's hash state: hashes every block they complete and
 * keeps the rest as the new tail. Does not touch the block table or numTokens.
 */
export function appendTokenHashes(seq: Sequence, newTokenIds: ArrayLike<number>, blockSize: number): void {
  const pending = seq.tailTokens.concat(Array.from(newTokenIds));
  const numFull = Math.floor(pending.length / blockSize) * blockSize;
  hashFullBlocks(seq.blockHashes, pending.slice(0, numFull), blockSize, seq.salt);
  seq.tailTokens = pending.slice(numFull);
}

/** Blocks needed to hold `numTokens` tokens: ceil(numTokens / BS). */
export function blocksFor(numTokens: number, blockSize: number): number {
  return Math.ceil(numTokens / blockSize);
}

/** Throws unless every id is an integer in [0, 2^32). */
export function checkTokenIds(seqId: string, tokenIds: ArrayLike<number>): void {
  if (tokenIds === null || typeof tokenIds !== 'object' || typeof tokenIds.length !== 'number') {
    throw invalidArgument(`sequence ${seqId}: newTokenIds must be an array of token ids`);
  }
  for (let i = 0; i < tokenIds.length; i++) {
    const t = tokenIds[i];
    if (!Number.isInteger(t) || t < 0 || t > 0xffffffff) {
      throw invalidArgument(`sequence ${seqId}: newTokenIds[${i}] = ${t} is not a token id (expected an integer in 0..2^32-1)`);
    }
  }
}

/** Throws unless `seqId` is a non-empty string. */
export function checkSeqId(seqId: unknown, field: string): asserts seqId is string {
  if (typeof seqId !== 'string' || seqId.length === 0) {
    throw invalidArgument(`${field} must be a non-empty sequence id string, got ${JSON.stringify(seqId)}`);
  }
}
