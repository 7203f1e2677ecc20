// TLS for the container's own health traffic, from the same environment the apps read
// (LLM_TLS_CERT, LLM_TLS_KEY, LLM_TLS_CA): the scheduler role's health server (entrypoint.js) serves
// TLS like the apps do (mTLS when a CA is set), and the health check (healthcheck.js) connects with
// this app's own certificate. The health check talks to 127.0.0.1, so it does not match the
// server's name against its certificate; with a CA it still verifies the chain.
const fs = require('fs');
const grpc = require('@grpc/grpc-js');

function files() {
  const read = (name) => (process.env[name] ? fs.readFileSync(process.env[name]) : undefined);
  return { cert: read('LLM_TLS_CERT'), key: read('LLM_TLS_KEY'), ca: read('LLM_TLS_CA') };
}

/** Server credentials like an internal app's, or undefined for plaintext. */
function serverCredentials() {
  const { cert, key, ca } = files();
  if (!cert || !key) return undefined;
  return grpc.ServerCredentials.createSsl(ca ?? null, [{ private_key: key, cert_chain: cert }], !!ca);
}

/** Channel credentials for a health check of this container's own app, or undefined for plaintext. */
function healthChannelCredentials() {
  const { cert, key, ca } = files();
  if (!cert || !key) return undefined;
  return grpc.credentials.createSsl(ca ?? null, key, cert, { checkServerIdentity: () => undefined, rejectUnauthorized: !!ca });
}

module.exports = { serverCredentials, healthChannelCredentials };
