/**
 * What every served method gets between the wire and its handler:
 *
 * - A request whose bytes do not decode (malformed protobuf) is answered INVALID_ARGUMENT naming
 *   the message type, instead of grpc-js's INTERNAL "Error deserializing request": the decoder
 *   hands the handler a marker, and the wrapped handler refuses it.
 * - Error details are clipped to MAX_ERROR_DETAILS_CHARS. A status message travels as an HTTP/2
 *   trailer; one that echoes a 100,000-character field exceeds the peer's header-list limit, the
 *   trailers never arrive and the call (and the connection behind it) hangs.
 *
 * What it is not: field validation (each service checks its own fields and names them).
 */
import { ServerError, Status } from 'nice-grpc-common';

export const MAX_ERROR_DETAILS_CHARS = 1024;

const MALFORMED = Symbol('malformed request');

interface Malformed {
  [MALFORMED]: string;
}

interface TsProtoMethodLike {
  name: string;
  requestType: { decode(input: Uint8Array): unknown; name?: string };
  requestStream: boolean;
  responseStream: boolean;
}

interface DefinitionLike {
  name?: string;
  fullName: string;
  methods: Record<string, TsProtoMethodLike>;
}

/** A copy of a ts-proto generic definition whose decoders never throw (see above). */
export function tolerantDefinition<D>(definition: D): D {
  const def = definition as unknown as DefinitionLike;
  if (!def.methods) return definition;
  const methods: Record<string, TsProtoMethodLike> = {};
  for (const [key, m] of Object.entries(def.methods)) {
    const decode = m.requestType.decode.bind(m.requestType);
    const typeName = m.requestType.name ?? `${m.name}Request`;
    methods[key] = {
      ...m,
      requestType: {
        ...m.requestType,
        decode(input: Uint8Array) {
          try {
            return decode(input);
          } catch (err) {
            const marker: Malformed = { [MALFORMED]: `the request is not a valid ${def.fullName}.${typeName} message (${clipDetails((err as Error).message, 200)})` };
            return marker;
          }
        },
      },
    };
  }
  return { ...def, methods } as unknown as D;
}

function malformedReason(request: unknown): string | undefined {
  return typeof request === 'object' && request !== null && MALFORMED in request ? (request as Malformed)[MALFORMED] : undefined;
}

/** Wraps one handler: refuses malformed requests, clips error details. */
export function guardHandler(fn: (...args: any[]) => any, responseStream: boolean): (...args: any[]) => any {
  if (responseStream) {
    return async function* (request: unknown, ...rest: unknown[]) {
      const bad = malformedReason(request);
      if (bad) throw new ServerError(Status.INVALID_ARGUMENT, bad);
      try {
        yield* fn(request, ...rest);
      } catch (err) {
        throw clipError(err);
      }
    };
  }
  return async (request: unknown, ...rest: unknown[]) => {
    const bad = malformedReason(request);
    if (bad) throw new ServerError(Status.INVALID_ARGUMENT, bad);
    try {
      return await fn(request, ...rest);
    } catch (err) {
      throw clipError(err);
    }
  };
}

function clipError(err: unknown): unknown {
  if (err instanceof ServerError && err.details.length > MAX_ERROR_DETAILS_CHARS) return new ServerError(err.code, clipDetails(err.details, MAX_ERROR_DETAILS_CHARS));
  return err;
}

export function clipDetails(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 30)}... (${s.length} characters)`;
}
