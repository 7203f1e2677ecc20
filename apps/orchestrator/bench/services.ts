/*
 * Service implementations built ONLY from the pure libraries, shared by the orchestrator's tests
 * and benchmark: llm.kv.v1.KvManager over libs/kv's KvPools and llm.worker.v1.Worker over
 * libs/model's ModelRunner, field for field. Serve them with startGrpcServer or wrap them with
 * createInProcessClient.
 *
 * What it is not: apps/kv-manager or apps/attention-worker (an app may not import another app);
 * no lease sweeping timer, no metrics, no validation beyond the libraries' own.
 */
import type { BlockStateName, KvPools } from '@llm/kv';
import type { LoadedModel, ModelRunner, StepInput } from '@llm/model';
import { toServerError, type ServiceImplementation } from '@llm/platform';
import { kv, trace, worker } from '@llm/proto';

type KvImpl = ServiceImplementation<kv.KvManagerDefinition>;

/** Library errors (KvError, RunnerError carry a status name as `code`) become gRPC status errors. */
function mapped<T extends object>(impl: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(impl)) {
    out[name] = async (...args: unknown[]) => {
      try {
        return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (err) {
        throw toServerError(err);
      }
    };
  }
  return out as T;
}

const BLOCK_STATE: Record<BlockStateName, trace.BlockState> = {
  free: trace.BlockState.BLOCK_STATE_FREE,
  cached: trace.BlockState.BLOCK_STATE_CACHED,
  used: trace.BlockState.BLOCK_STATE_USED,
  used_cached: trace.BlockState.BLOCK_STATE_USED_CACHED,
  shared: trace.BlockState.BLOCK_STATE_SHARED,
};

/** llm.kv.v1.KvManager over KvPools, field for field. */
export function kvImplementation(pools: KvPools): KvImpl {
  return mapped<KvImpl>({
    async registerPool(req) {
      return { existed: pools.registerPool(req.poolId, { numBlocks: req.numBlocks, blockSize: req.blockSizeTokens }) };
    },
    async allocateSlots(req) {
      const out = pools.allocateSlots(
        req.poolId,
        req.sequences.map((s) => ({ seqId: s.seqId, newTokenIds: s.newTokenIds, salt: s.cacheSalt, numTokensToCompute: s.numTokensToCompute, numLookaheadTokens: s.numLookaheadTokens, numAcceptedLookaheadTokens: s.numAcceptedLookaheadTokens })),
        { owner: req.ownerId || undefined, commit: req.commitSeqIds },
      );
      return {
        sequences: out.map((a) => ({
          seqId: a.seqId,
          status: a.ok ? kv.AllocationStatus.ALLOCATION_STATUS_OK : kv.AllocationStatus.ALLOCATION_STATUS_OUT_OF_BLOCKS,
          blockIds: a.blockTable,
          numComputedTokens: a.numComputedTokens,
          numTokens: a.numTokens,
          numLookaheadTokens: a.numLookaheadTokens ?? 0,
        })),
        copies: out.flatMap((a) => a.copies.map((c) => ({ srcBlockId: c.src, dstBlockId: c.dst }))),
        poolMap: req.includePoolMap ? pools.poolMap(req.poolId).map((r) => ({ state: BLOCK_STATE[r.state], numBlocks: r.numBlocks })) : [],
      };
    },
    async free(req) {
      return { numBlocksReleased: pools.free(req.poolId, req.seqIds) };
    },
    async renewLease(req) {
      return { numSequencesExpiredTotal: pools.renewLease(req.ownerId, req.ttlMs) };
    },
    async fork(req) {
      const out = pools.fork(req.poolId, req.parentSeqId, req.childSeqIds, { childOwner: req.ownerId || undefined });
      return { blockIds: out[0]?.blockTable ?? [] };
    },
    async getBlockTable(req) {
      const t = pools.getBlockTable(req.poolId, req.seqId);
      return { blockIds: t.blockTable, numTokens: t.numTokens, numComputedTokens: t.numComputedTokens };
    },
    async stats(req) {
      const s = req.poolId ? pools.stats(req.poolId) : pools.statsAll();
      return {
        numBlocks: s.numBlocks, numUsedBlocks: s.numUsedBlocks, numFreeBlocks: s.numFreeBlocks, numCachedBlocks: s.numCachedFreeBlocks,
        numSequences: s.numSequences, prefixHitRate: s.prefixHitRate, internalFragmentationSlots: s.numWastedSlots, blockSizeTokens: s.blockSize,
      };
    },
    async reset(req) {
      return { numSequencesFreed: pools.reset(req.poolId) };
    },
  });
}

const f32Bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength); // little-endian hosts

/** llm.worker.v1.Worker over a ModelRunner (internals traces included). */
export function workerImplementation(runner: ModelRunner, model: LoadedModel, workerId: string, modelId = 'tiny-llama'): ServiceImplementation<worker.WorkerDefinition> {
  return mapped<ServiceImplementation<worker.WorkerDefinition>>({
    async step(req) {
      const input: StepInput = {
        stepId: BigInt(req.stepId),
        sequences: req.sequences.map((s) => ({
          seqId: s.seqId,
          tokenIds: s.tokenIds,
          startPosition: s.startPosition,
          blockIds: s.blockIds,
          sample: s.sample,
          usePreviousToken: s.usePreviousToken,
          state: s.state && {
            params: { ...(s.state.params as worker.SamplingParams), seed: /^\d{1,20}$/.test(s.state.params?.seed ?? '') ? BigInt(s.state.params!.seed) : Number.NaN, logitBias: new Map(Object.entries(s.state.params?.logitBias ?? {}).map(([k, v]) => [Number(k), v])) },
            promptTokenIds: s.state.promptTokenIds,
            outputTokenIds: s.state.outputTokenIds,
            grammarEbnf: s.state.grammarEbnf || undefined,
          },
          appendedOutputTokenIds: s.appendedOutputTokenIds,
          promptLogprobs: s.promptLogprobs,
          embedPooling: s.embedPooling === worker.Pooling.POOLING_MEAN ? 'mean' : s.embedPooling === worker.Pooling.POOLING_LAST ? 'last' : undefined,
          trace: s.trace && { attention: s.trace.attention && { layers: s.trace.attention.layers, heads: s.trace.attention.heads }, moe: s.trace.moe, samplingTop: s.trace.sampling?.top ?? 0 },
        })),
        copies: req.copies.map((c) => ({ src: c.srcBlockId, dst: c.dstBlockId })),
        releaseSeqIds: req.releaseSeqIds,
      };
      const out = await runner.step(input);
      return {
        outputs: out.outputs.map((o) => ({
          seqId: o.seqId, sampled: o.sampled, tokenId: o.tokenId, logprob: o.logprob, topLogprobs: o.topLogprobs,
          promptLogprobs: o.promptLogprobs ?? [],
          embeddingF32: o.embedding ? Buffer.from(o.embedding.buffer, o.embedding.byteOffset, o.embedding.byteLength) : Buffer.alloc(0),
          trace: o.trace && {
            attention: o.trace.attention.map((r) => ({ layer: r.layer, head: r.head, kvHead: r.kvHead, queryPosition: r.queryPosition, weightsF32: f32Bytes(r.weights) })),
            moe: o.trace.moe.map((m) => ({ layer: m.layer, position: m.position, gateProbsF32: f32Bytes(m.gateProbs), expertIds: m.expertIds, weights: m.weights, replicas: m.replicas, dropped: m.dropped })),
            sampling: o.trace.sampling,
          },
        })),
        numTokens: out.numTokens,
        forwardNs: Number(out.forwardNs),
        stepNs: Number(out.stepNs),
        grammarNs: Number(out.grammarNs),
      };
    },
    async getModelInfo() {
      const c = model.config;
      return {
        workerId, modelId, architecture: c.architecture, vocabSize: c.vocabSize, maxPositionEmbeddings: c.maxPositions,
        numLayers: c.numLayers, hiddenSize: c.hiddenSize, numAttentionHeads: c.numHeads, numKeyValueHeads: c.numKvHeads,
        numBlocks: runner.pool.numBlocks, blockSizeTokens: runner.pool.blockSize, backend: runner.backend.name, eosTokenIds: c.eosTokenIds,
        bosTokenId: c.bosTokenId ?? undefined, maxBatchSequences: runner.limits.maxBatchSequences, maxBatchTokens: runner.limits.maxBatchTokens,
        supportsGrammar: runner.supportsGrammar,
      };
    },
  });
}
