#!/usr/bin/env node
// Docker HEALTHCHECK and Kubernetes exec probe: `healthcheck.js [liveness|readiness] [PORT]`, a
// grpc.health.v1 Check of that service (default '', which follows readiness) against the app's own
// gRPC port (TLS with the app's own certificate when LLM_TLS_CERT/KEY are set, see ./tls.js);
// exit 0 when SERVING.
const fs = require('fs');
const { createChannel, createClient } = require('nice-grpc');
const { HealthDefinition } = require('nice-grpc-server-health');

const args = process.argv.slice(2);
const service = args.find((a) => a === 'liveness' || a === 'readiness') ?? '';
let port = args.find((a) => /^\d+$/.test(a)) ?? process.env.LLM_GRPC_PORT;
try {
  port ??= fs.readFileSync('/tmp/llm-grpc-port', 'utf8').trim();
} catch {
  port ??= '50051';
}
const channel = createChannel(`127.0.0.1:${port}`, require('./tls').healthChannelCredentials());
const client = createClient(HealthDefinition, channel);
client
  .check({ service }, { signal: AbortSignal.timeout(2500) })
  .then((res) => {
    channel.close();
    process.exit(res.status === 1 ? 0 : 1);
  })
  .catch((err) => {
    process.stderr.write(`unhealthy: ${err.message}\n`);
    process.exit(1);
  });
