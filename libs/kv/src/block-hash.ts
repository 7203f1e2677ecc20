/*
 * Prefix-cache block hashes: the hash of a full block chains its parent's hash and its
 * own token ids, so equal hashes mean equal whole prefixes, not just equal blocks.
 *
 *   h(block 0) = SHA-256( ROOT || salt? || tokens[0 .. BS) )
 *   h(block i) = SHA-256( h(block i-1) || tokens[i*BS .. (i+1)*BS) )
 *
 * The optional per-tenant salt enters the first block, so it changes every hash of the
 * chain and two tenants never share a cached block (vLLM's `cache_salt`).
 *
 * Follows vLLM v1 `hash_block_tokens` (vllm/v1/core/kv_cache_utils.py) with its SHA-256
 * option: a 256-bit digest makes an accidental collision (which would silently serve
 * another prompt's K/V) negligible. It deliberately does not hash partial blocks: only
 * full blocks are ever shared through the cache.
 */
import { createHash } from 'node:crypto';

/** A block hash: the base64 of a 32-byte SHA-256 digest (a Map key). */
export type BlockHash = string;

const ROOT = Buffer.from('llm.kv.v1 prefix root');
const NO_SALT = Buffer.from([0]);

/** Token ids as little-endian uint32 bytes: tokens[start .. end). */
function tokenBytes(tokens: ArrayLike<number>, start: number, end: number): Buffer {
  const buf = Buffer.allocUnsafe((end - start) * 4);
  for (let i = start; i < end; i++) buf.writeUInt32LE(tokens[i], (i - start) * 4);
  return buf;
}

/** The salt's bytes, length-prefixed so no salt can imitate the first tokens. */
function saltBytes(salt: string | undefined): Buffer {
  if (salt === undefined || salt === '') return NO_SALT;
  const s = Buffer.from(salt, 'utf8');
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32LE(s.length, 0);
  return Buffer.concat([Buffer.from([1]), len, s]);
}

/**
 * The hash of one full block: `parent` is the previous block's hash (null for block 0),
 * `tokens[start .. start+blockSize)` are its token ids.
 */
export function hashBlock(
  parent: BlockHash | null,
  tokens: ArrayLike<number>,
  start: number,
  blockSize: number,
  salt?: string,
): BlockHash {
  const h = createHash('sha256');
  if (parent === null) {
    h.update(ROOT);
    h.update(saltBytes(salt));
  } else {
    h.update(Buffer.from(parent, 'base64'));
  }
  h.update(tokenBytes(tokens, start, start + blockSize));
  return h.digest('base64');
}

/**
 * The hashes of every full block of `tokens` after the `known` ones already hashed:
 * appends to (and returns) `hashes`, whose last entry is the parent of the next block.
 * `tokens[0]` is the first token of block `hashes.length`.
 */
export function hashFullBlocks(
  hashes: BlockHash[],
  tokens: ArrayLike<number>,
  blockSize: number,
  salt?: string,
): BlockHash[] {
  for (let start = 0; start + blockSize <= tokens.length; start += blockSize) {
    const parent = hashes.length === 0 ? null : hashes[hashes.length - 1];
    hashes.push(hashBlock(parent, tokens, start, blockSize, salt));
  }
  return hashes;
}
