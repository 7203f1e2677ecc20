#!/usr/bin/env node
// Container entry point: `entrypoint.js <app> [flags]` runs that app's compiled main.js.
// The app's gRPC port (--grpc-port or LLM_GRPC_PORT) is remembered in /tmp/llm-grpc-port for the
// health check. The orchestrator's scheduler role serves no gRPC of its own, so for it this entry
// point serves grpc.health.v1 on the gRPC port (NOT_SERVING until the app prints its ready line,
// SERVING after, NOT_SERVING on SIGTERM; TLS like the apps when LLM_TLS_CERT/KEY are set): the
// image's HEALTHCHECK and Kubernetes' probes work for every app.
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
if (app === 'orchestrator' && flagValue('--role', process.env.LLM_ROLE) === 'scheduler') serveSchedulerHealth(port);
process.argv = [process.argv[0], path.join('/app/apps', app, 'dist/src/main.js'), ...flags];
require(process.argv[1]);

function flagValue(name, fallback) {
  const i = flags.findIndex((f) => f === name || f.startsWith(`${name}=`));
  if (i < 0) return fallback;
  return flags[i].includes('=') ? flags[i].slice(name.length + 1) : flags[i + 1];
}

function serveSchedulerHealth(grpcPort) {
  const { createServer } = require('nice-grpc');
  const { HealthDefinition, HealthServiceImpl, HealthState } = require('nice-grpc-server-health');
  const state = HealthState();
  state.setStatus('unhealthy');
  const server = createServer();
  server.add(HealthDefinition, HealthServiceImpl(state));
  const host = flagValue('--host', process.env.LLM_HOST ?? '127.0.0.1');
  server.listen(`${host.includes(':') ? `[${host}]` : host}:${grpcPort}`, require('./tls').serverCredentials()).catch((err) => {
    process.stderr.write(`orchestrator: the scheduler's health server could not listen on port ${grpcPort}: ${err.message}\n`);
  });
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, ...rest) => {
    if (/^orchestrator \(scheduler\) serving/m.test(String(chunk))) state.setStatus('healthy');
    return write(chunk, ...rest);
  };
  process.once('SIGTERM', () => {
    state.setStatus('unhealthy');
    void server.shutdown();
  });
}
