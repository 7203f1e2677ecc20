/*
 * Redis names shared by the api and scheduler roles: the BullMQ queue, each request's delta stream
 * (XADD by the scheduler: one entry per GenerateResponse as JSON in field `d`), the cancel channel
 * and the worker leases.
 * What it is not: a client; see queue-intake.ts and queue-consumer.ts.
 */
import { trace, type inference } from '@llm/proto';
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

/** A delta as stream-entry JSON (proto3 JSON: bytes as base64, every field written; an internals trace in its proto3 JSON form). */
export function encodeDelta(msg: inference.GenerateResponse): string {
  return JSON.stringify({ ...msg, embeddingF32: Buffer.from(msg.embeddingF32 ?? new Uint8Array(0)).toString('base64'), trace: msg.trace ? trace.Trace.toJSON(msg.trace) : undefined });
}

export function decodeDelta(text: string): inference.GenerateResponse | StreamFailure {
  const o = JSON.parse(text) as (inference.GenerateResponse & { embeddingF32?: string }) | StreamFailure;
  if ('error' in o) return o;
  return { ...o, embeddingF32: Buffer.from(o.embeddingF32 ?? '', 'base64'), trace: o.trace ? trace.Trace.fromJSON(o.trace) : undefined };
}
