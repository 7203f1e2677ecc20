/**
 * The platform under test: `llm serve --distributed`'s own composition (startDistributed: every
 * app a real process, a real redis-server with AOF, the Supervisor restarting what dies) on a
 * tiny random llama the suite writes, with the TS backend so a sequence's tokens do not depend on
 * what else is in its batch. Plus readings of every process (RSS) and of the kv-manager (blocks).
 *
 * What it is not: a container deployment (libs/testing's startPlatform is).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initModelDir } from '@llm/model';
import { connectGrpc } from '@llm/platform';
import { inference } from '@llm/proto';
import { startDistributed, type DistributedPlatform } from '../src/serve/distributed';
import { kvReading, rssMb } from './measure';
import type { InferenceConn } from './clients';

export const PROCESSES = ['orchestrator', 'orchestrator-scheduler', 'attention-worker', 'kv-manager', 'tokenizer-service'] as const;

export interface UnderTest {
  platform: DistributedPlatform;
  http: string;
  grpc: string;
  connect(): InferenceConn;
  rss(): Record<string, number>;
  kvBlocks(): Promise<number>;
  /** Waits until the kv-manager holds no sequence (bounded); returns its used blocks then. */
  kvIdle(timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

export async function startUnderTest(say: (l: string) => void): Promise<UnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'llm-reliability-'));
  initModelDir(join(dir, 'model'), 'llama', {
    seed: 5,
    overrides: { vocab_size: 384, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 64, max_position_embeddings: 256 },
  });
  const platform = await startDistributed({
    modelDir: join(dir, 'model'), host: '127.0.0.1', grpcPort: 0, httpPort: 0, backend: 'ts', threads: 1, kvCacheGib: 0.05, blockSize: 16,
    maxNumSeqs: 256, maxNumBatchedTokens: 4096, logLevel: process.env.LLM_LOG_LEVEL ?? 'warn', onProgress: (l) => say(`[serve] ${l}`),
  });
  const kvAddress = platform.addresses['kv-manager'];
  const readKv = () => kvReading(kvAddress);
  return {
    platform,
    http: platform.httpAddress!,
    grpc: platform.grpcAddress,
    connect: () => connectGrpc(inference.InferenceDefinition, platform.grpcAddress),
    rss: () => Object.fromEntries(PROCESSES.map((p) => [p, rssMb(platform.processes[p]?.pid)])),
    kvBlocks: async () => (await readKv()).usedBlocks,
    async kvIdle(timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      let r = await readKv().catch(() => ({ usedBlocks: -1, sequences: -1 }));
      while ((r.sequences !== 0 || r.usedBlocks < 0) && Date.now() < until) {
        await new Promise((res) => setTimeout(res, 100));
        r = await readKv().catch(() => ({ usedBlocks: -1, sequences: -1 }));
      }
      return r.usedBlocks;
    },
    async close() {
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
