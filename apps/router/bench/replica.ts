/**
 * A benchmark router replica in its own process:
 * `node dist/bench/replica.js <experts> <threads> [peer host:port,...]` (experts like '0-3'). Serves llm.router.v1.Router on 127.0.0.1 (free port), prints
 * `PORT <n>` once listening, exits when its parent closes stdin.
 */
import { connectGrpc, startGrpcServer } from '@llm/platform';
import { router } from '@llm/proto';
import { RouterService, parseExpertList } from '../src';
import { benchRouter, E } from './bench-model';

async function main(): Promise<void> {
  const [spec = 'all', threads = '1', peerList = ''] = process.argv.slice(2);
  const peers = peerList
    .split(',')
    .filter((a) => a.length > 0)
    .map((address) => ({ address, client: connectGrpc(router.RouterDefinition, address, { deadlineMs: 60_000 }).client }));
  const moe = benchRouter(parseExpertList(spec, E), Number(threads), peers);
  const server = await startGrpcServer({ host: '127.0.0.1', port: 0, services: [{ definition: router.RouterDefinition, implementation: new RouterService(moe) }] });
  process.stdout.write(`PORT ${server.port}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void server.close(100).then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench replica: ${(err as Error).message}\n`);
  process.exit(1);
});
