/**
 * The HTTP side of the API key check, for a plain node:http handler: call `checkHttpAuth` first;
 * it either returns the caller's tenant or has already answered 401 with an OpenAI-shaped error
 * (`{"error": {"message", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}`)
 * and a `WWW-Authenticate: Bearer` header.
 *
 * What it is not: the decision (./auth-policy.ts) or routing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AUTH_MESSAGES, type AuthPolicy } from './auth-policy';

export type HttpAuthResult = { ok: true; tenant?: string } | { ok: false };

export function checkHttpAuth(policy: AuthPolicy | undefined, req: IncomingMessage, res: ServerResponse): HttpAuthResult {
  if (!policy) return { ok: true };
  const path = (req.url ?? '/').split('?')[0];
  const header = req.headers.authorization;
  const decision = policy.decide(path, Array.isArray(header) ? header[0] : header);
  if (decision.ok) return { ok: true, tenant: decision.tenant };
  const body = JSON.stringify({
    error: { message: AUTH_MESSAGES[decision.reason], type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
  });
  res.writeHead(401, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'WWW-Authenticate': 'Bearer' });
  res.end(body);
  // The body of a refused request is never read; drain it so the connection can be reused.
  req.resume();
  return { ok: false };
}
