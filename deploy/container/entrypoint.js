#!/usr/bin/env node
// Container entry point: `entrypoint.js <app> [flags]` runs that app's compiled main.js.
// The app's gRPC port (--grpc-port or LLM_GRPC_PORT) is remembered in /tmp/llm-grpc-port for the
// health check. Every app serves grpc.health.v1 itself (`liveness`, `readiness`); the
// orchestrator's scheduler role serves only that.
// `entrypoint.js init-secrets DIR` (compose's one-shot `secrets` service) writes a random Redis
// password and the Redis config that requires it into DIR, once (see ./init-secrets.js).
const path = require('path');
const fs = require('fs');

const apps = {
  orchestrator: 50051,
  'tokenizer-service': 50052,
  router: 50053,
  'attention-worker': 50054,
  'kv-manager': 50055,
};
const app = process.argv[2];
if (app === 'init-secrets') {
  require('./init-secrets').main(process.argv.slice(3));
  return;
}
if (!app || !(app in apps)) {
  process.stderr.write(`usage: <image> ${Object.keys(apps).join('|')} [flags]\n`);
  process.exit(2);
}
const flags = process.argv.slice(3);
const portFlag = flags.findIndex((f) => f === '--grpc-port' || f.startsWith('--grpc-port='));
const port =
  portFlag < 0 ? Number(process.env.LLM_GRPC_PORT ?? apps[app]) : Number(flags[portFlag].includes('=') ? flags[portFlag].split('=')[1] : flags[portFlag + 1]);
try {
  fs.writeFileSync('/tmp/llm-grpc-port', String(port));
} catch {
  // read-only /tmp: the health check falls back to the default port
}
process.env.LLM_GRPC_PORT ??= String(port);
process.argv = [process.argv[0], path.join('/app/apps', app, 'dist/src/main.js'), ...flags];
require(process.argv[1]);
