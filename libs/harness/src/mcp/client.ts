/*
 * Tools from MCP servers, with the official SDK's client: a server started as a child process
 * (stdio) or reached over Streamable HTTP is asked for its tools, and each becomes a harness
 * Tool whose schema is the server's inputSchema and whose run is a tools/call.
 *
 * Failures say which server and what happened, in one line: a command that exits during the
 * handshake (with the end of its stderr), a server that does not answer within the time limit
 * (a hang), a server that exited after start-up (its tools then fail as tool errors the model
 * sees), a tool result flagged isError.
 * What it is not: MCP resources, prompts or sampling; only tools.
 * Reference: Model Context Protocol specification (2025-06-18), @modelcontextprotocol/sdk Client.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Tool } from '../tools/registry';

export interface McpServerSpec {
  /** A command line (split on spaces; quotes group words), started as a stdio server. */
  command?: string;
  /** A Streamable HTTP endpoint, e.g. http://127.0.0.1:3000/mcp. */
  url?: string;
  /** Time limit of the handshake, tools/list and each tools/call (default 10 s). */
  timeoutMs?: number;
  /** Extra environment for a command. */
  env?: Record<string, string>;
}

export interface McpConnection {
  name: string;
  tools: Tool[];
  close(): Promise<void>;
}

export class McpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'McpError';
  }
}

/** Splits a command line into words; single or double quotes group words. */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

function stripSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _s, ...rest } = schema;
  return { type: 'object', properties: {}, ...rest };
}

export async function connectMcpServer(spec: McpServerSpec): Promise<McpConnection> {
  if (!!spec.command === !!spec.url) throw new McpError('an MCP server is either a command (stdio) or a URL (Streamable HTTP)');
  const timeout = spec.timeoutMs ?? 10_000;
  const name = spec.command ? `'${spec.command}'` : spec.url!;
  let stderrTail = '';
  let closed = false;
  let childPid: number | null = null;
  let transport: Transport;
  if (spec.command) {
    const [cmd, ...args] = splitCommand(spec.command);
    if (!cmd) throw new McpError('--mcp needs a command to start');
    const stdio = new StdioClientTransport({ command: cmd, args, env: { ...(process.env as Record<string, string>), ...spec.env }, stderr: 'pipe' });
    stdio.stderr?.on('data', (d: Buffer) => (stderrTail = (stderrTail + d.toString('utf8')).slice(-400)));
    // The child's pid, kept for shutdown (the SDK forgets it as soon as closing starts).
    const start = stdio.start.bind(stdio);
    stdio.start = async () => {
      await start();
      childPid = stdio.pid;
    };
    transport = stdio;
  } else {
    let url: URL;
    try {
      url = new URL(spec.url!);
    } catch {
      throw new McpError(`MCP server URL '${spec.url}' is not a URL (expected e.g. http://127.0.0.1:3000/mcp)`);
    }
    transport = new StreamableHTTPClientTransport(url);
  }
  const client = new Client({ name: 'llm-harness', version: '0.1.0' });
  client.onclose = () => {
    closed = true;
  };
  /** Ends the connection; a child that is still running after that is terminated (no stray process). */
  const shutdown = async () => {
    const pid = childPid;
    await Promise.race([client.close().catch(() => undefined), new Promise((r) => setTimeout(r, 500).unref())]);
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const why = () => (stderrTail.trim() ? `; its stderr ends: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}` : '');
  try {
    await client.connect(transport, { timeout });
  } catch (err) {
    await shutdown();
    const msg = (err as Error).message ?? String(err);
    if (/timed out|timeout/i.test(msg)) throw new McpError(`MCP server ${name} did not complete the MCP handshake within ${timeout} ms (is it an MCP server on ${spec.command ? 'stdio' : 'Streamable HTTP'}?)${why()}`);
    if (closed || /closed/i.test(msg)) throw new McpError(`MCP server ${name} exited during the MCP handshake${why()}`);
    throw new McpError(`MCP server ${name} could not be reached: ${msg}${why()}`);
  }
  let listed;
  try {
    listed = await client.listTools(undefined, { timeout });
  } catch (err) {
    await shutdown();
    throw new McpError(`MCP server ${name} did not list its tools: ${(err as Error).message}${why()}`);
  }
  const tools: Tool[] = listed.tools.map((t) => ({
    name: t.name,
    description: t.description ?? '',
    parameters: stripSchema(t.inputSchema as Record<string, unknown>),
    strictSchema: false,
    sideEffects: t.annotations?.readOnlyHint === false || t.annotations?.destructiveHint === true,
    timeoutMs: timeout,
    run: async (args: unknown) => {
      if (closed) throw new Error(`MCP server ${name} has exited; its tool '${t.name}' is unavailable${why()}`);
      let res;
      try {
        res = await client.callTool({ name: t.name, arguments: args as Record<string, unknown> }, undefined, { timeout });
      } catch (err) {
        const msg = (err as Error).message ?? String(err);
        if (/timed out|timeout/i.test(msg)) throw new Error(`MCP tool '${t.name}' of ${name} did not answer within ${timeout} ms`);
        if (closed || /closed/i.test(msg)) throw new Error(`MCP server ${name} exited while running '${t.name}'${why()}`);
        throw new Error(`MCP tool '${t.name}' of ${name}: ${msg}`);
      }
      const text = ((res.content as Array<{ type: string; text?: string }>) ?? []).map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
      if (res.isError) throw new Error(text || `MCP tool '${t.name}' reported an error`);
      return text;
    },
  }));
  return { name, tools, close: shutdown };
}
