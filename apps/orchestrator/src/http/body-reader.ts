/*
 * Reads a request body as JSON without trusting the client: the declared Content-Length is
 * checked before a byte is read, the bytes read stop counting into memory at the limit (the rest
 * of an oversized body is discarded as it arrives, so the client still reads its 413), and the
 * text is scanned for nesting depth before JSON.parse, so no validator or error message ever
 * recurses through a 5,000-level value.
 *
 * What it is not: the slow-client timeouts (node:http's headersTimeout and requestTimeout, set
 * where the server is created) or the field checks (./schemas).
 */
import type { IncomingMessage } from 'node:http';
import { jsonDepth, MAX_JSON_DEPTH } from '../api/request-rules';
import { HttpError } from './errors';

export { jsonDepth };

export interface BodyLimits {
  /** Largest body accepted, in bytes; larger ones get 413. */
  maxBodyBytes: number;
  /** Deepest nesting of arrays and objects accepted. */
  maxJsonDepth: number;
}

export const DEFAULT_MAX_JSON_DEPTH = MAX_JSON_DEPTH;

/** An oversized body gets discarded up to this many times the limit, then the connection is dropped. */
const DISCARD_FACTOR = 8;

function tooLarge(limit: number, got: string): HttpError {
  return new HttpError(413, `request body is ${got}, more than the ${limit} bytes this server accepts (--max-body-bytes)`, null, 'invalid_request_error', 'request_too_large');
}

/** Reads, depth-checks and parses the body; the value is any JSON object. */
export async function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<Record<string, unknown>> {
  const raw = await readLimited(req, limits.maxBodyBytes);
  const depth = jsonDepth(raw, limits.maxJsonDepth);
  if (depth > limits.maxJsonDepth) throw new HttpError(400, `request body nests deeper than ${limits.maxJsonDepth} levels of arrays and objects`, null);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (err) {
    throw new HttpError(400, `request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`, null);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object', null);
  return body as Record<string, unknown>;
}

function readLimited(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    discard(req, max);
    return Promise.reject(tooLarge(max, `${declared} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= max) {
        chunks.push(c);
        return;
      }
      chunks.length = 0; // keep nothing of an oversized body
      cleanup();
      discard(req, max, size);
      reject(tooLarge(max, `over ${max} bytes`));
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size).toString('utf8'));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Lets the rest of an oversized body flow past unstored (so the client reads its 413); drops the connection past a bound. */
function discard(req: IncomingMessage, max: number, already = 0): void {
  let seen = already;
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > DISCARD_FACTOR * max) req.socket.destroy();
  });
  req.resume();
}
