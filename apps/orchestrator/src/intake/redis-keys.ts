/*
 * Redis names shared by the api and scheduler roles: the BullMQ queue, each request's delta stream
 * (XADD by the scheduler: one entry per GenerateResponse as JSON in field `d`), the cancel channel
 * and the worker leases.
 * What it is not: a client; see queue-intake.ts and queue-consumer.ts.
 */
export const GENERATE_QUEUE = 'generate';

export const deltaStreamKey = (prefix: string, requestId: string) => `${prefix}:gen:${requestId}:deltas`;
export const cancelChannel = (prefix: string) => `${prefix}:gen:cancel`;
export const workerLeaseKey = (prefix: string, poolId: string) => `${prefix}:lease:worker:${poolId}`;
/** Sorted set of live schedulers: member = scheduler id, score = when its worker lease expires (ms). */
export const schedulersKey = (prefix: string) => `${prefix}:schedulers`;
/** Set (with a TTL) when the client of a request left: a scheduler that picks the job up later skips it. */
export const cancelKey = (prefix: string, requestId: string) => `${prefix}:gen:${requestId}:cancelled`;

/** Deltas stay readable this long after the last write (a late client or a resume can still read them). */
export const DELTA_STREAM_TTL_S = 3600;

/** A stream entry that is not a delta: the request failed for good. */
export interface StreamFailure {
  error: { code: number; message: string };
}
