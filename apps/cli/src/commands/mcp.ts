/*
 * `llm mcp (--endpoint URL | --grpc ADDR)`: the platform as an MCP server with the tools
 * generate, tokenize (ids and BPE pieces), embeddings and model_info. Stdio by default (for MCP
 * hosts that start it as a child process); `--http PORT` serves Streamable HTTP at /mcp.
 */
import type { Command } from 'commander';
import { CliError } from '../errors';
import { connectClient, type ClientFlags } from '../harness/connect';
import { serveMcpHttp, serveMcpStdio } from '../harness/mcp-server';
import type { RegisterCommand } from './index';

interface McpFlags extends ClientFlags {
  http?: string;
  host: string;
}

async function mcp(f: McpFlags): Promise<void> {
  const { client, close } = connectClient(f);
  try {
    if (f.http === undefined) {
      process.stderr.write(`[mcp] serving the platform at ${client.endpoint} on stdio (tools: generate, tokenize, embeddings, model_info)\n`);
      await serveMcpStdio(client, f.model);
      return;
    }
    const port = Number(f.http);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--http must be a port number, got '${f.http}'`);
    let served;
    try {
      served = await serveMcpHttp(client, f.host, port, f.model);
    } catch (err) {
      throw new CliError(`cannot listen on ${f.host}:${port}: ${(err as Error).message}`);
    }
    process.stdout.write(`llm mcp: Streamable HTTP MCP server at ${served.url} for ${client.endpoint} (tools: generate, tokenize, embeddings, model_info)\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await served.close();
  } finally {
    close();
  }
}

export const registerMcp: RegisterCommand = (program: Command) => {
  program
    .command('mcp')
    .description('serve the platform as an MCP server (generate, tokenize, embeddings, model_info) on stdio, or Streamable HTTP with --http')
    .option('--endpoint <url>', 'the platform\'s OpenAI-compatible HTTP endpoint')
    .option('--grpc <host:port>', "the platform's gRPC Inference API")
    .option('--model <name>', 'model name to send')
    .option('--http <port>', 'serve Streamable HTTP at http://HOST:PORT/mcp instead of stdio (0 picks a free port)')
    .option('--host <host>', 'address for --http', '127.0.0.1')
    .action((f: McpFlags) => mcp(f));
};
