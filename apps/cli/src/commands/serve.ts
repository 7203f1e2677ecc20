/**
 * `llm serve`: the embedded platform (default), or `--distributed`: the five apps as separate
 * processes on 127.0.0.1 with Redis (REDIS_URL, or a redis-server it starts). Prints the gRPC and
 * HTTP addresses and an example request, then serves until SIGINT/SIGTERM.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { isGgufPath } from '@llm/model';
import { CliError } from '../errors';
import { quantFormatFlag } from './quantize';
import { repoRoot, resolveDefaultModel } from '../serve/default-model';
import type { ServeSettings } from '../serve/settings';
import type { RegisterCommand } from './index';

interface ServeFlags {
  model?: string;
  host: string;
  grpcPort: string;
  httpPort: string;
  backend: string;
  threads: string;
  kvCacheGib: string;
  blockSize: string;
  maxNumSeqs: string;
  maxNumBatchedTokens: string;
  distributed?: boolean;
  redisUrl?: string;
  quantize?: string;
  servedModelName?: string[];
}

function int(name: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`--${name} must be an integer in [${min}, ${max}], got '${v}'`);
  return n;
}

function num(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new CliError(`--${name} must be a number >= ${min}, got '${v}'`);
  return n;
}

export function parseServeFlags(f: ServeFlags, say: (l: string) => void): ServeSettings {
  if (f.backend !== 'ort' && f.backend !== 'ts') throw new CliError(`--backend must be ort or ts, got '${f.backend}'`);
  let modelDir: string;
  if (f.model) {
    modelDir = resolve(f.model);
    if (!isGgufPath(modelDir) && !existsSync(`${modelDir}/config.json`)) {
      throw new CliError(`model dir ${modelDir} has no config.json (expected a Hugging Face model directory or a .gguf file)`);
    }
  } else {
    modelDir = resolveDefaultModel(say);
  }
  return {
    modelDir,
    host: f.host,
    grpcPort: int('grpc-port', f.grpcPort, 0, 65535),
    httpPort: int('http-port', f.httpPort, -1, 65535),
    backend: f.backend,
    threads: int('threads', f.threads, 1, 256),
    kvCacheGib: num('kv-cache-gib', f.kvCacheGib, 0),
    blockSize: int('block-size', f.blockSize, 1, 1024),
    maxNumSeqs: int('max-num-seqs', f.maxNumSeqs, 1),
    maxNumBatchedTokens: int('max-num-batched-tokens', f.maxNumBatchedTokens, 1),
    ...(f.quantize !== undefined ? { quantize: quantFormatFlag('--quantize', f.quantize) } : {}),
    servedModelNames: servedNames(f.servedModelName),
  };
}

/** --served-model-name, repeatable or comma-separated. */
function servedNames(v: string[] | undefined): string[] | undefined {
  const names = (v ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (/\s/.test(n)) throw new CliError(`--served-model-name '${n}' must not contain spaces`);
  return names.length > 0 ? names : undefined;
}

function printBanner(grpc: string, http: string | undefined, modelId: string, mode: string, modelDir: string): void {
  // The bundled default model adds two-digit numbers (answer digits reversed, see models/default/README.md).
  const isDefault = modelDir === resolve(repoRoot(), 'models', 'default');
  const prompt = isDefault ? '37+48=' : 'Hello';
  const maxTokens = isDefault ? 4 : 16;
  const lines = [
    `llm serve (${mode}): model '${modelId}'`,
    `  gRPC  ${grpc}   (llm.inference.v1.Inference; health and reflection on)`,
    http ? `  HTTP  http://${http}   (OpenAI-compatible: /v1/completions, /v1/chat/completions, /v1/models, /health, /metrics)` : '',
    '',
    'Try:',
    http
      ? `  curl -s http://${http}/v1/completions -H 'content-type: application/json' -d '{"model":"${modelId}","prompt":"${prompt}","max_tokens":${maxTokens},"temperature":0}'`
      : '',
    `  npx llm generate --model ${modelDir} --prompt '${prompt}' --max-tokens ${maxTokens} --temperature 0`,
  ];
  process.stdout.write(`${lines.filter((l) => l !== '').join('\n')}\n`);
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const done = (sig: string) => resolve(sig);
    process.once('SIGINT', () => done('SIGINT'));
    process.once('SIGTERM', () => done('SIGTERM'));
  });
}

export const registerServe: RegisterCommand = (program: Command) => {
  program
    .command('serve')
    .description('serve a model: the embedded platform (all services in one process), or --distributed')
    .option('--model <path>', 'Hugging Face model directory or .gguf file (default: the bundled default model)')
    .option('--quantize <format>', 'quantize the linear layers while loading: q8_0 | q4_0')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--grpc-port <n>', 'public gRPC port', '50051')
    .option('--http-port <n>', 'OpenAI-compatible HTTP port (-1: none)', '8080')
    .option('--backend <ort|ts>', 'worker execution backend', 'ort')
    .option('--threads <n>', 'worker threads', '2')
    .option('--kv-cache-gib <n>', 'KV cache budget in GiB', '0.25')
    .option('--block-size <n>', 'tokens per KV block', '16')
    .option('--max-num-seqs <n>', 'most sequences per scheduler step', '64')
    .option('--max-num-batched-tokens <n>', 'token budget per scheduler step', '2048')
    .option('--distributed', 'run the five apps as separate processes on 127.0.0.1 with Redis')
    .option('--redis-url <url>', 'Redis for --distributed (default: start a local redis-server)')
    .option('--served-model-name <names...>', 'names clients may use for the model (the first is the id /v1/models reports)')
    .action(async (flags: ServeFlags) => {
      const say = (l: string) => process.stderr.write(`[serve] ${l}\n`);
      const settings = parseServeFlags(flags, say);
      if (flags.distributed) {
        const { startDistributed } = await import('../serve/distributed');
        const platform = await startDistributed({ ...settings, redisUrl: flags.redisUrl, onProgress: say });
        printBanner(platform.grpcAddress, platform.httpAddress, platform.modelId, 'distributed', settings.modelDir);
        say(`stopping on ${await waitForSignal()}`);
        await platform.close();
        return;
      }
      const { startEmbedded } = await import('../serve/embedded');
      const platform = await startEmbedded({ ...settings, onProgress: say });
      printBanner(platform.grpcAddress, platform.httpAddress, platform.modelId, 'embedded', settings.modelDir);
      say(`stopping on ${await waitForSignal()}`);
      await platform.close();
    });
};
