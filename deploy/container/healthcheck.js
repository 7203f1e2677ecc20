#!/usr/bin/env node
// Docker HEALTHCHECK: a grpc.health.v1 Check against the app's own gRPC port (TLS with the app's own
// certificate when LLM_TLS_CERT/KEY are set, see ./tls.js); exit 0 when SERVING.
const fs = require('fs');
const { createChannel, createClient } = require('nice-grpc');
const { HealthDefinition } = require('nice-grpc-server-health');

let port = process.argv[2] ?? process.env.LLM_GRPC_PORT;
try {
  port ??= fs.readFileSync('/tmp/llm-grpc-port', 'utf8').trim();
} catch {
  port ??= '50051';
}
const channel = createChannel(`127.0.0.1:${port}`, require('./tls').healthChannelCredentials());
const client = createClient(HealthDefinition, channel);
client
  .check({ service: '' }, { signal: AbortSignal.timeout(2500) })
  .then((res) => {
    channel.close();
    process.exit(res.status === 1 ? 0 : 1);
  })
  .catch((err) => {
    process.stderr.write(`unhealthy: ${err.message}\n`);
    process.exit(1);
  });
