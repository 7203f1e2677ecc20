/*
 * KvError: the one error type of the paged allocator, thrown for misuse (unknown or
 * duplicate sequence ids, double free, a request that no pool size could ever serve).
 *
 * It is deliberately NOT used for running out of blocks: that is an expected answer
 * (`ok: false` in an allocation result), as in vLLM v1 where `allocate_slots` returns None.
 *
 * `code` uses the gRPC status names so a service can map it one to one
 * (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
 */

/** Which class of mistake the caller made. */
export type KvErrorCode = 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' | 'NOT_FOUND';

/** A misuse of the allocator; the pool is unchanged when it is thrown. */
export class KvError extends Error {
  constructor(
    readonly code: KvErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KvError';
  }
}

/** Shorthand constructors, so call sites read as one line. */
export const invalidArgument = (message: string): KvError => new KvError('INVALID_ARGUMENT', message);
export const failedPrecondition = (message: string): KvError => new KvError('FAILED_PRECONDITION', message);
export const notFound = (message: string): KvError => new KvError('NOT_FOUND', message);
