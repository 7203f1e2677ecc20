/*
 * The step-backend contract between the worker engine (ModelRunner) and the backends that run
 * the transformer over one step's flattened token batch: the TypeScript kernels (`TsBackend`)
 * and the ONNX Runtime graph (`OrtBackend`).
 *
 * What this is not: sampling, validation, copy-on-write and sequence bookkeeping live in the
 * engine (ModelRunner), never in a backend. A backend sees only a validated FlatBatch.
 *
 * Follows the paged KV layout of vLLM (PagedAttention, Kwon et al. 2023): a sequence's
 * context lives in fixed-size blocks named by a block table; slot = blockId * blockSize + offset.
 *
 *   block table of one sequence (blockSize 4), contextLen 10:
 *     logical block:   0          1          2
 *     physical block: [7]        [2]        [9]
 *     slots:        28..31      8..11     36..37 (+2 free)
 *     pos p lives in slot blockTable[floor(p / 4)] * 4 + p % 4
 */

import type { ForwardTrace } from './trace-types';

/**
 * The physical KV pool the worker owns: per layer, K and V for every slot.
 * slot = blockId * blockSize + (pos % blockSize); layout of k[l] / v[l]:
 * [numBlocks * blockSize][NKV][HS] (slot-major), so the (slot, head) vector starts at
 * (slot * NKV + h) * HS.
 * K is stored after RoPE (llama, qwen2, mixtral) and after the k-projection bias (qwen2, gpt2):
 * exactly the vector attention dots Q with. V is stored as projected (with bias when present).
 */
export interface KvPool {
  numBlocks: number;
  blockSize: number;
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  k: Float32Array[]; // L arrays of numBlocks*blockSize*NKV*HS
  v: Float32Array[];
}

/** One sequence's rows in a FlatBatch. */
export interface FlatSeq {
  start: number; // first row in the flat batch
  numNewTokens: number; // rows start .. start+numNewTokens-1
  contextLen: number; // tokens of context after this step = positions[last] + 1
  blockTable: Int32Array; // physical block ids covering 0 .. contextLen-1 (ceil(contextLen / blockSize) used)
  seqIndex?: number; // the step sequence these rows belong to (kept when a backend splits the batch)
}

/** One step's flattened token batch: sequences mix prefill chunks and single-token decodes. */
export interface FlatBatch {
  tokenIds: Int32Array; // (N) new tokens of all sequences, sequence after sequence
  positions: Int32Array; // (N) absolute position of each new token (contiguous within a sequence)
  slotMapping: Int32Array; // (N) pool slot where each new token's K/V is written
  seqs: FlatSeq[];
  logitRows: Int32Array; // (R) rows whose logits are needed (usually each sampling sequence's last new token)
}

/**
 * Runs the whole model for one step: writes the batch's new K/V into the pool (at slotMapping),
 * attends causally over each sequence's blocks (a row at position p sees positions 0..p of its
 * own sequence, both the cached ones and the new ones of this step), returns logits (R, V) for
 * logitRows, row r of the result being the logits of flat row logitRows[r].
 * A backend writes only the slots in slotMapping; every other slot of the pool is left as it was.
 */
export interface StepBackend {
  readonly name: 'ts' | 'ort' | 'ort+wasm';
  /** Whether forward() can record an internals trace (extras.trace). */
  readonly traceable: boolean;
  /** With `extras`, also sets extras.hidden = final_norm(x) of the logitRows (R, C) (embeddings pool these). */
  forward(batch: FlatBatch, pool: KvPool, extras?: ForwardExtras): Promise<Float32Array>;
  /** Backends that hold a copy of the pool elsewhere (a worker thread) replay copy-on-write copies already applied to `pool`. */
  applyBlockCopies?(pool: KvPool, copies: ReadonlyArray<{ src: number; dst: number }>): Promise<void>;
  dispose(): Promise<void>;
}

/** What a forward may hand back besides the logits. */
export interface ForwardExtras {
  hidden?: Float32Array; // (R, C)
  /** The internals trace: rows and routing the backend records for the selected sequences. */
  trace?: ForwardTrace;
}

/** Options every backend factory takes. */
export interface StepBackendOptions {
  /** Intra-op threads for the backend's kernels (ORT sessions); the TS backend is single-threaded. */
  threads: number;
}
