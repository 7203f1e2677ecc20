/*
 * Typed errors for bad input. Each carries a gRPC-style status name in `code`, so a service
 * can map it to a status without parsing messages; the message says what was wrong and what
 * was expected.
 *
 * What it is: one class. What it is not: a logger or error registry.
 */

export type TokenizerErrorCode = 'INVALID_ARGUMENT' | 'NOT_FOUND';

export class TokenizerError extends Error {
  constructor(
    message: string,
    readonly code: TokenizerErrorCode = 'INVALID_ARGUMENT',
  ) {
    super(message);
    this.name = 'TokenizerError';
  }
}
