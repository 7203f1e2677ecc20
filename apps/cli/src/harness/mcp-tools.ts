/*
 * Tools for `llm agent` and `llm eval` from MCP servers given on the command line
 * (--mcp "CMD ARGS" for stdio servers, --mcp-url URL for Streamable HTTP ones).
 * What it is not: the platform's own MCP server (mcp-server.ts).
 */
import { connectMcpServer, type McpConnection, type Tool } from '@llm/harness';
import { CliError } from '../errors';

export async function connectMcpTools(commands: string[], urls: string[], timeoutMs?: number): Promise<{ tools: Tool[]; close: () => Promise<void> }> {
  const conns: McpConnection[] = [];
  const close = async () => {
    for (const c of conns) await c.close();
  };
  try {
    for (const command of commands) conns.push(await connectMcpServer({ command, timeoutMs }));
    for (const url of urls) conns.push(await connectMcpServer({ url, timeoutMs }));
  } catch (err) {
    await close();
    throw new CliError((err as Error).message);
  }
  return { tools: conns.flatMap((c) => c.tools), close };
}
