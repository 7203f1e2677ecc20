/*
 * The model client behind `llm agent`, `llm eval`, `llm rag` and `llm mcp`, from flags:
 *   --endpoint URL   an OpenAI-compatible HTTP endpoint (this platform, vLLM, ...)
 *   --grpc ADDR      this platform's gRPC Inference API (nice-grpc client of InferenceDefinition,
 *                    handed to the harness as its injected transport: the harness lib has no gRPC)
 *   --chat-template DIR   chat over completions with the model directory's chat template and
 *                    Hermes tool-call parsing (for endpoints without server-side tool calling,
 *                    and for gRPC, which has no chat RPC)
 *
 * What it is not: an endpoint health check; the first request says what is wrong.
 */
import { connectGrpc } from '@llm/platform';
import { inference } from '@llm/proto';
import { GrpcInferenceClient, OpenAiHttpClient, TemplateChatClient, type InferenceTransport, type ModelClient } from '@llm/harness';
import { CliError } from '../errors';

export interface ClientFlags {
  endpoint?: string;
  grpc?: string;
  model?: string;
  chatTemplate?: string;
  concurrency?: string;
  retries?: string;
  timeoutMs?: string;
}

export interface ConnectedClient {
  client: ModelClient;
  close(): void;
}

function positive(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} must be a non-negative integer, got '${v}'`);
  return n;
}

export function connectClient(f: ClientFlags): ConnectedClient {
  if (!!f.endpoint === !!f.grpc) throw new CliError('give exactly one of --endpoint URL (OpenAI-compatible HTTP) or --grpc HOST:PORT (the platform\'s gRPC Inference API)');
  const retry = { maxRetries: positive('retries', f.retries, 3), attemptTimeoutMs: positive('timeout-ms', f.timeoutMs, 120_000) };
  const concurrency = Math.max(1, positive('concurrency', f.concurrency, 8));
  let client: ModelClient;
  let close = () => undefined as void;
  try {
    if (f.endpoint) client = new OpenAiHttpClient({ baseUrl: f.endpoint, model: f.model, retry, concurrency, apiKey: process.env.OPENAI_API_KEY });
    else {
      const conn = connectGrpc(inference.InferenceDefinition, f.grpc!, { deadlineMs: retry.attemptTimeoutMs });
      client = new GrpcInferenceClient(conn.client as unknown as InferenceTransport, { address: f.grpc!, model: f.model, retry, concurrency });
      close = () => conn.close();
    }
    if (f.chatTemplate) client = TemplateChatClient.fromModelDir(client, f.chatTemplate);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  return { client, close };
}

/** A progress line on stderr: redrawn in place on a terminal, every ~10% otherwise. */
export function progressLine(): (frac: number, text: string) => void {
  const tty = process.stderr.isTTY;
  let lastBucket = -1;
  return (frac, text) => {
    const width = 24;
    const filled = Math.round(Math.min(1, Math.max(0, frac)) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
    if (tty) process.stderr.write(`\r${line}${frac >= 1 ? '\n' : ''}`);
    else {
      const bucket = Math.floor(frac * 10);
      if (bucket !== lastBucket) process.stderr.write(`${line}\n`);
      lastBucket = bucket;
    }
  };
}

export function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}
