/*
 * The worker engine's typed error: a status code the service maps onto gRPC, and a message that
 * names the sequence and the field that was wrong and what was expected.
 *
 * What this is not: a transport error. The runner is pure; apps/attention-worker turns `code`
 * into INVALID_ARGUMENT / FAILED_PRECONDITION / UNAVAILABLE / INTERNAL.
 */

export type RunnerErrorCode = 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION' | 'UNAVAILABLE' | 'INTERNAL';

export class RunnerError extends Error {
  constructor(
    readonly code: RunnerErrorCode,
    message: string,
    /** The sequence the error is about, when there is one. */
    readonly seqId?: string,
    /** The request field that was wrong (e.g. `block_ids`, `state.params.top_p`). */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'RunnerError';
  }
}

/** INVALID_ARGUMENT about field `field` of sequence `seqId`: "sequence s1: block_ids[2] = 99 ...". */
export function invalidSeq(seqId: string, field: string, what: string): RunnerError {
  return new RunnerError('INVALID_ARGUMENT', `sequence ${JSON.stringify(seqId)}: ${field} ${what}`, seqId, field);
}
