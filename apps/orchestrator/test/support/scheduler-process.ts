/*
 * A distributed scheduler-role orchestrator as its own process, for the kill test: connects to
 * the test's kv-manager and worker over gRPC and consumes the queue until killed. Settings come
 * from the environment (LLM_REDIS_URL, LLM_KV_MANAGER_ADDRESS, LLM_WORKER_ADDRESS, LLM_MODEL,
 * LLM_SCHEDULER_ID, LLM_QUEUE_PREFIX, LLM_LEASE_TTL_MS, LLM_STALLED_INTERVAL_MS) through the orchestrator's own
 * config schema. Prints "ready" once started.
 */
import { connectGrpc, loadConfig } from '@llm/platform';
import { kv, worker } from '@llm/proto';
import { createOrchestrator, orchestratorConfigSchema } from '../../src';

async function main(): Promise<void> {
  const config = loadConfig(orchestratorConfigSchema, { argv: [], overrides: { role: 'scheduler', httpPort: -1, grpcPort: 0 } });
  const kvConn = connectGrpc(kv.KvManagerDefinition, config.kvManagerAddress);
  const workerConn = connectGrpc(worker.WorkerDefinition, config.workerAddress);
  await createOrchestrator(config, { kv: kvConn.client, worker: workerConn.client });
  process.stdout.write('ready\n');
}

main().catch((err) => {
  process.stderr.write(`scheduler-process: ${(err as Error).stack}\n`);
  process.exit(1);
});
