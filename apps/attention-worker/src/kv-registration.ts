/*
 * Registers the worker's KV pool with the kv-manager under the worker's id, so the allocator's
 * pool has exactly the worker's num_blocks and block_size (ARCHITECTURE.md: one owner per piece
 * of state; the kv-manager owns block assignment, the worker owns the memory).
 *
 * What this is not: a retry loop. A kv-manager that is down fails start-up with its error after
 * the call's deadline; the deployment restarts the worker.
 */
import type { Client } from 'nice-grpc';
import type { kv } from '@llm/proto';

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
