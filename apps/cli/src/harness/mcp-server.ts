/*
 * The platform as an MCP server (`llm mcp`): four tools over a model client (the platform's
 * HTTP API or its gRPC Inference API), served on stdio or Streamable HTTP with the official SDK.
 *
 *   generate     prompt -> completion text (max_tokens, temperature, stop, seed)
 *   tokenize     text -> token ids and their BPE pieces (the vocabulary's spellings)
 *   embeddings   texts -> vectors (dimensions and values)
 *   model_info   the served models (id, context window, architecture...)
 *
 * A tool that fails (the endpoint lacks a feature, refuses a field, or is down) answers with
 * isError and one line saying why; the server keeps running.
 * HTTP runs stateless: each POST gets a fresh server and transport (the SDK's stateless pattern),
 * so any number of clients can call it.
 * Reference: Model Context Protocol (tools, Streamable HTTP transport); @modelcontextprotocol/sdk McpServer.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import type { ModelClient } from '@llm/harness';

type Reply = { content: Array<{ type: 'text'; text: string }>; isError?: boolean };

const ok = (value: unknown): Reply => ({ content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }] });
const fail = (err: unknown): Reply => ({ content: [{ type: 'text', text: (err as Error).message ?? String(err) }], isError: true });

async function guarded(fn: () => Promise<unknown>): Promise<Reply> {
  try {
    return ok(await fn());
  } catch (err) {
    return fail(err);
  }
}

export function createPlatformMcpServer(client: ModelClient, model?: string): McpServer {
  const server = new McpServer({ name: 'llm-platform', version: '0.1.0' });
  server.registerTool(
    'generate',
    {
      description: 'Generate a completion of a prompt with the served model.',
      inputSchema: {
        prompt: z.string().min(1).describe('the text to continue'),
        max_tokens: z.number().int().min(1).max(4096).optional().describe('most tokens to generate (default 64)'),
        temperature: z.number().min(0).max(2).optional().describe('0 for greedy (default)'),
        stop: z.array(z.string()).optional().describe('stop strings'),
        seed: z.number().int().optional(),
      },
      annotations: { readOnlyHint: true },
    },
    ({ prompt, max_tokens, temperature, stop, seed }) =>
      guarded(async () => {
        const r = await client.complete({ model, prompt, max_tokens: max_tokens ?? 64, temperature: temperature ?? 0, stop, seed });
        return { text: r.choices[0]?.text ?? '', finish_reason: r.choices[0]?.finish_reason ?? '', usage: r.usage };
      }),
  );
  server.registerTool(
    'tokenize',
    { description: "Tokenize text with the served model's tokenizer: token ids and their BPE pieces.", inputSchema: { text: z.string() }, annotations: { readOnlyHint: true } },
    ({ text }) =>
      guarded(async () => {
        const r = await client.tokenize(text, { model });
        return { count: r.ids.length, ids: r.ids, pieces: r.pieces ?? null };
      }),
  );
  server.registerTool(
    'embeddings',
    { description: 'Embed texts with the served model (one vector per text).', inputSchema: { input: z.array(z.string()).min(1).describe('texts to embed') }, annotations: { readOnlyHint: true } },
    ({ input }) =>
      guarded(async () => {
        const vectors = await client.embed(input, { model });
        return { count: vectors.length, dimensions: vectors[0]?.length ?? 0, embeddings: vectors };
      }),
  );
  server.registerTool(
    'model_info',
    { description: 'The models the platform serves: id, context window and details.', inputSchema: {}, annotations: { readOnlyHint: true } },
    () => guarded(async () => ({ models: await client.models() })),
  );
  return server;
}

/** Serves on this process's stdin/stdout until stdin closes. */
export async function serveMcpStdio(client: ModelClient, model?: string): Promise<void> {
  const server = createPlatformMcpServer(client, model);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
  await server.connect(transport);
  process.stdin.on('end', () => void server.close());
  await closed;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

/** Streamable HTTP at http://host:port/mcp (stateless). */
export async function serveMcpHttp(client: ModelClient, host: string, port: number, model?: string): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const http = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/mcp') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no route ${req.method} ${path} (the MCP endpoint is /mcp)` }));
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'application/json', allow: 'POST' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'this MCP server is stateless: POST only' }, id: null }));
      return;
    }
    (async () => {
      const server = createPlatformMcpServer(client, model);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      let body: unknown;
      try {
        body = await readBody(req);
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'request body is not JSON' }, id: null }));
        return;
      }
      await transport.handleRequest(req, res, body);
    })().catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: (err as Error).message }, id: null }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, resolve);
  });
  const addr = http.address() as AddressInfo;
  return {
    url: `http://${host}:${addr.port}/mcp`,
    server: http,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
