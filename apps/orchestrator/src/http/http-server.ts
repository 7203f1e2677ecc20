/*
 * The node:http (with TLS: node:https) server the OpenAI handler runs in, with the slow-client
 * limits set: a client has headersTimeoutMs to send its headers and requestTimeoutMs to send its
 * whole request (node answers 408 and closes after), checked every second rather than node's
 * default 30 s. The response side is not limited: a long SSE stream is fine.
 *
 * What it is not: the routes (openai-server.ts) or the body size limit (body-reader.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

export interface HttpServerLimits {
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
}

const CLIENT_ERROR_STATUS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

/** The server, plain or (given certificate and key) TLS. */
export function createHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void, limits: HttpServerLimits, tls?: { cert: Buffer; key: Buffer }): Server {
  const requestTimeout = limits.httpRequestTimeoutMs;
  const headersTimeout = Math.min(limits.httpHeadersTimeoutMs, requestTimeout); // node requires headers <= request
  const options = { connectionsCheckingInterval: 1000, headersTimeout, requestTimeout };
  const server: Server = tls ? createHttpsServer({ ...options, ...tls }, handler) : createServer(options, handler);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A slow or malformed request: answer when the socket can still take it, never throw.
    const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? '400 Bad Request';
    if (socket.writable && err.code !== 'ECONNRESET') socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });
  return server;
}
