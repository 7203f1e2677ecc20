/**
 * The gRPC side of the API key check: a nice-grpc server middleware that reads the `authorization`
 * metadata (`Bearer KEY`), answers UNAUTHENTICATED when AuthPolicy refuses, and otherwise hands the
 * caller's tenant to the handler in the call context (`tenantOf(context)`).
 *
 * What it is not: the decision itself (./auth-policy.ts), or TLS.
 */
import { ServerError, Status, type CallContext, type ServerMiddleware } from 'nice-grpc-common';
import { AUTH_MESSAGES, type AuthPolicy } from './auth-policy';

/** What the middleware adds to the call context. */
export interface TenantContext {
  /** The tenant of the caller's API key; undefined when the API is open or the method exempt. */
  tenant?: string;
}

/** The tenant the auth middleware (or the HTTP front) attached to a call context, if any. */
export function tenantOf(context: CallContext | undefined): string | undefined {
  return (context as (CallContext & TenantContext) | undefined)?.tenant;
}

export function apiKeyMiddleware(policy: AuthPolicy): ServerMiddleware<TenantContext> {
  return async function* authenticate(call, context) {
    const decision = policy.decide(call.method.path, context.metadata.get('authorization'));
    if (!decision.ok) throw new ServerError(Status.UNAUTHENTICATED, AUTH_MESSAGES[decision.reason]);
    return yield* call.next(call.request as never, { ...context, tenant: decision.tenant });
  };
}
