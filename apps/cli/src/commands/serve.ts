/**
 * `llm serve`: the embedded platform (default), or `--distributed`: the five apps as separate
 * processes on 127.0.0.1 with Redis (--redis-url, or a password-protected redis-server it starts).
 * Prints the gRPC and HTTP addresses and an example request, then serves until SIGINT/SIGTERM,
 * which drains (requests in flight finish); a second signal stops at once.
 * With --allow-trace, requests may ask for an internals trace and /internals draws one.
 * Every flag is also an environment variable named after it (`--api-key` -> LLM_API_KEY), as for
 * the apps; API keys and TLS use the apps' shared settings. Metrics: /metrics on the HTTP port
 * (embedded), and each process's own /metrics port (distributed; --metrics-port picks them);
 * tracing when the standard OTEL_* environment asks for it (libs/platform's telemetry).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { isGgufPath } from '@llm/model';
import { DEFAULT_AUTH_EXEMPT, envOf, LOG_LEVELS } from '@llm/platform/config';
import { CliError } from '../errors';
import { quantFormatFlag } from './quantize';
import { repoRoot, resolveDefaultModel } from '../serve/default-model';
import type { ServeSecurity, ServeSettings } from '../serve/settings';
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
  maxPrefillTokensPerStep?: string;
  maxDecodeDeferMs?: string;
  distributed?: boolean;
  redisUrl?: string;
  quantize?: string;
  servedModelName?: string[];
  apiKey: string[];
  apiKeysFile: string;
  authExempt: string[];
  tlsCert: string;
  tlsKey: string;
  tlsCa: string;
  logLevel: string;
  allowTrace?: boolean;
  maxTraceBytes?: string;
  metricsPort: string;
  speculative?: string;
  speculativeTokens: string;
  draftModel?: string;
  draftBackend?: string;
  ortMainThread?: boolean;
  decodeKernel: string;
  asyncScheduling: string;
}

/** An on/off flag (also true/false, yes/no, 1/0), as the apps read booleans; `auto` is undefined (the mode decides). */
function onOff(name: string, v: string): boolean | undefined {
  const x = String(v).toLowerCase();
  if (x === 'auto') return undefined;
  if (['on', 'true', 'yes', '1'].includes(x)) return true;
  if (['off', 'false', 'no', '0'].includes(x)) return false;
  throw new CliError(`--${name} must be auto, on or off, got '${v}'`);
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
    ...(f.maxPrefillTokensPerStep !== undefined ? { maxPrefillTokensPerStep: int('max-prefill-tokens-per-step', f.maxPrefillTokensPerStep, 0) } : {}),
    ...(f.maxDecodeDeferMs !== undefined ? { maxDecodeDeferMs: int('max-decode-defer-ms', f.maxDecodeDeferMs, 0) } : {}),
    ...(f.quantize !== undefined ? { quantize: quantFormatFlag('--quantize', f.quantize) } : {}),
    servedModelNames: servedNames(f.servedModelName),
    security: securityOf(f),
    logLevel: f.logLevel,
    allowTrace: f.allowTrace ?? false,
    ortMainThread: f.ortMainThread ?? false,
    decodeKernel: f.decodeKernel === 'ort' ? 'ort' : 'wasm',
    ...(onOff('async-scheduling', f.asyncScheduling) !== undefined ? { asyncScheduling: onOff('async-scheduling', f.asyncScheduling) } : {}),
    ...(f.maxTraceBytes !== undefined ? { maxTraceBytes: int('max-trace-bytes', f.maxTraceBytes, 1024) } : {}),
    ...speculativeOf(f),
  };
}

/** --speculative ngram|draft, --speculative-tokens K, --draft-model DIR (checked here, one line each). */
function speculativeOf(f: ServeFlags): Pick<ServeSettings, 'speculative'> {
  const method = f.speculative ?? '';
  if (method === '' || method === 'off') {
    if (f.draftModel) throw new CliError('--draft-model needs --speculative draft');
    return {};
  }
  if (method !== 'ngram' && method !== 'draft') throw new CliError(`--speculative must be ngram (prompt lookup) or draft (with --draft-model DIR), got '${method}'`);
  const numTokens = int('speculative-tokens', f.speculativeTokens, 1, 32);
  if (method === 'ngram') {
    if (f.draftModel) throw new CliError('--draft-model is only used with --speculative draft');
    return { speculative: { method, numTokens } };
  }
  if (!f.draftModel) throw new CliError('--speculative draft needs --draft-model DIR: a small model with the same tokenizer (e.g. models/default-draft)');
  const draftModel = resolve(f.draftModel);
  if (!existsSync(`${draftModel}/config.json`)) throw new CliError(`draft model dir ${draftModel} has no config.json (expected a Hugging Face model directory)`);
  const backend = f.draftBackend;
  if (backend !== undefined && backend !== 'ort' && backend !== 'ts') throw new CliError(`--draft-backend must be ort or ts, got '${backend}'`);
  return { speculative: { method, numTokens, draftModel, ...(backend ? { backend } : {}) } };
}

function securityOf(f: ServeFlags): ServeSecurity {
  for (const [flag, path] of [['--api-keys-file', f.apiKeysFile], ['--tls-cert', f.tlsCert], ['--tls-key', f.tlsKey], ['--tls-ca', f.tlsCa]]) {
    if (path && !existsSync(path)) throw new CliError(`${flag} ${path}: no such file`);
  }
  if (!!f.tlsCert !== !!f.tlsKey) throw new CliError('--tls-cert and --tls-key go together: pass both or neither');
  return {
    apiKey: f.apiKey,
    apiKeysFile: f.apiKeysFile ? resolve(f.apiKeysFile) : '',
    authExempt: f.authExempt,
    tlsCert: f.tlsCert ? resolve(f.tlsCert) : '',
    tlsKey: f.tlsKey ? resolve(f.tlsKey) : '',
    tlsCa: f.tlsCa ? resolve(f.tlsCa) : '',
  };
}

/** --served-model-name, repeatable or comma-separated. */
function servedNames(v: string[] | undefined): string[] | undefined {
  const names = (v ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (/\s/.test(n)) throw new CliError(`--served-model-name '${n}' must not contain spaces`);
  return names.length > 0 ? names : undefined;
}

function printBanner(grpc: string, http: string | undefined, modelId: string, mode: string, settings: ServeSettings, metrics: Record<string, string> = {}): void {
  // The bundled default model adds two-digit numbers (answer digits reversed, see models/default/README.md).
  const modelDir = settings.modelDir;
  const isDefault = modelDir === resolve(repoRoot(), 'models', 'default');
  const prompt = isDefault ? '37+48=' : 'Hello';
  const maxTokens = isDefault ? 4 : 16;
  const sec = settings.security;
  const keyed = !!sec && (sec.apiKey.length > 0 || !!sec.apiKeysFile);
  const scheme = sec?.tlsCert ? 'https' : 'http';
  const lines = [
    `llm serve (${mode}): model '${modelId}'`,
    `  gRPC  ${grpc}   (llm.inference.v1.Inference; health and reflection on${sec?.tlsCert ? '; TLS' : ''})`,
    http ? `  HTTP  ${scheme}://${http}   (OpenAI-compatible: /v1/completions, /v1/chat/completions, /v1/models, /health, /metrics)` : '',
    ...Object.entries(metrics).map(([name, address]) => `  metrics  http://${address}/metrics   (${name})`),
    keyed ? '  API keys on: send Authorization: Bearer KEY (gRPC metadata authorization)' : '  API keys off: anyone who reaches these ports can generate (--api-key / LLM_API_KEY / --api-keys-file)',
    settings.speculative ? `  Speculative decoding: ${settings.speculative.method === 'ngram' ? 'prompt lookup' : `draft model ${settings.speculative.draftModel}`}, up to ${settings.speculative.numTokens} draft tokens per step (acceptance in /metrics: llm_worker_accepted_draft_tokens_total / llm_worker_draft_tokens_total)` : '',
    settings.allowTrace && http ? `  Internals traces on: open ${scheme}://${http}/internals (or send "trace" in a completion body)` : '',
    '',
    'Try:',
    http
      ? `  curl -s ${sec?.tlsCa ? `--cacert ${sec.tlsCa} ` : ''}${scheme}://${http}/v1/completions -H 'content-type: application/json'${keyed ? ` -H "authorization: Bearer $LLM_API_KEY"` : ''} -d '{"model":"${modelId}","prompt":"${prompt}","max_tokens":${maxTokens},"temperature":0}'`
      : '',
    `  npx llm generate --model ${modelDir} --prompt '${prompt}' --max-tokens ${maxTokens} --temperature 0`,
  ];
  process.stdout.write(`${lines.filter((l) => l !== '').join('\n')}\n`);
}

function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const done = (sig: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(sig);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}

/** First signal: graceful stop (requests in flight finish); a second one while stopping: `kill` and exit at once. */
async function serveUntilSignal(say: (l: string) => void, stop: () => Promise<void>, kill: () => void): Promise<void> {
  const sig = await waitForSignal();
  say(`${sig}: draining (requests in flight finish; press Ctrl-C again to stop at once)`);
  const again = () => {
    say('second signal: stopping now');
    kill();
    process.exit(130);
  };
  process.once('SIGINT', again);
  process.once('SIGTERM', again);
  await stop();
  say('stopped');
}

const split = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
const list = (v: string, prev: string[]): string[] => [...prev, ...split(v)];
const AUTH_EXEMPT_DEFAULT = [...DEFAULT_AUTH_EXEMPT];
/** A repeatable list whose first occurrence replaces the default rather than adding to it. */
const exemptList = (v: string, prev: string[]): string[] => [...(prev === AUTH_EXEMPT_DEFAULT ? [] : prev), ...split(v)];

/** An option whose environment variable is named after its flag, as for the apps (`--kv-cache-gib` -> LLM_KV_CACHE_GIB). */
function opt(flags: string, description: string, def?: string | boolean | string[], parse?: (v: string, prev: string[]) => string[]): Option {
  const long = /--([a-z0-9-]+)/.exec(flags)?.[1] as string;
  const o = new Option(flags, description).env(envOf(long));
  if (parse) o.argParser(parse);
  return def === undefined ? o : o.default(def);
}

export const registerServe: RegisterCommand = (program: Command) => {
  program
    .command('serve')
    .description('serve a model: the embedded platform (all services in one process), or --distributed')
    .addOption(opt('--model <path>', 'Hugging Face model directory or .gguf file (default: the bundled default model)'))
    .addOption(opt('--quantize <format>', 'quantize the linear layers while loading: q8_0 | q4_0'))
    .addOption(opt('--host <host>', 'address the public ports bind', '127.0.0.1'))
    .addOption(opt('--grpc-port <n>', 'public gRPC port', '50051'))
    .addOption(opt('--http-port <n>', 'OpenAI-compatible HTTP port (-1: none)', '8080'))
    .addOption(opt('--backend <ort|ts>', 'worker execution backend', 'ort'))
    .addOption(opt('--threads <n>', 'worker threads', '2'))
    .addOption(opt('--kv-cache-gib <n>', 'KV cache budget in GiB', '0.25'))
    .addOption(opt('--block-size <n>', 'tokens per KV block', '16'))
    .addOption(opt('--max-num-seqs <n>', 'most sequences per scheduler step', '64'))
    .addOption(opt('--max-num-batched-tokens <n>', 'token budget per scheduler step', '2048'))
    .addOption(opt('--max-prefill-tokens-per-step <n>', 'most prefill tokens per scheduler step, whole prompts first come first served (default 384; 0: the whole step budget)'))
    .addOption(opt('--max-decode-defer-ms <n>', 'longest a running sequence waits for its next decode while waiting prompts prefill first (default 500; 0: decodes join every step)'))
    .addOption(opt('--distributed', 'run the five apps as separate processes on 127.0.0.1 with Redis'))
    .addOption(opt('--redis-url <url>', 'Redis for --distributed (default: start a local redis-server with a random password)'))
    .addOption(opt('--api-key <key>', 'API key clients must send (Authorization: Bearer KEY), repeatable; none: the API is open', [], list))
    .addOption(opt('--api-keys-file <file>', "file of API keys, one per line 'KEY [TENANT]'", ''))
    .addOption(opt('--auth-exempt <paths>', 'HTTP paths and gRPC services served without a key', AUTH_EXEMPT_DEFAULT, exemptList))
    .addOption(opt('--tls-cert <file>', 'PEM certificate: serve TLS on the public ports (with --tls-key)', ''))
    .addOption(opt('--tls-key <file>', 'PEM private key of --tls-cert', ''))
    .addOption(opt('--tls-ca <file>', '--distributed: CA of mTLS between the processes (their certificate is --tls-cert)', ''))
    .addOption(opt('--speculative <method>', 'speculative decoding: ngram (prompt lookup) | draft (a draft model, --draft-model); default off'))
    .addOption(opt('--speculative-tokens <n>', 'most draft tokens verified per sequence per step', '4'))
    .addOption(opt('--draft-model <dir>', 'draft model directory for --speculative draft (same tokenizer as --model)'))
    .addOption(opt('--draft-backend <ort|ts>', "the draft model's backend (default: --backend's; ts can beat ort on a tiny draft model)"))
    .addOption(opt('--allow-trace', 'accept internals-trace requests (the `trace` body field) and serve the /internals page'))
    .addOption(opt('--max-trace-bytes <n>', 'largest internals trace one request may ask for, in bytes (default 16 MiB)'))
    .addOption(opt('--async-scheduling <auto|on|off>', 'send each decode step right behind the one before it, so the worker does not wait on the scheduler (auto: on with --distributed, where it hides the calls between processes; off embedded, where the overlap only competes for the cores)', 'auto'))
    .addOption(opt('--ort-main-thread', "run the worker's ONNX Runtime sessions on the event loop's thread (the old path, for A/B; default: worker threads)"))
    .addOption(opt('--decode-kernel <wasm|ort>', "single-stream decode steps: wasm (the platform's own SIMD kernels, streaming weights packed four rows at a time, llama-family models of 16M parameters and more; each step goes to ONNX Runtime instead while its recent steps there are faster, as on a busy machine) or ort (ONNX Runtime, for A/B). Batches, prefill and traces run on ONNX Runtime either way", 'wasm').choices(['wasm', 'ort']))
    .addOption(opt('--log-level <level>', `log level: ${LOG_LEVELS.join(' | ')}`, 'info').choices([...LOG_LEVELS]))
    .addOption(opt('--served-model-name <names...>', 'names clients may use for the model (the first is the id /v1/models reports)'))
    .addOption(opt('--metrics-port <n>', 'embedded: a /metrics port besides the HTTP one (-1: none); --distributed: base B, each process on B + its offset (0: free ports)', '-1'))
    .action(async (flags: ServeFlags) => {
      const say = (l: string) => process.stderr.write(`[serve] ${l}\n`);
      const settings = parseServeFlags(flags, say);
      const metricsPort = int('metrics-port', flags.metricsPort, -1, 65535);
      if (flags.distributed) {
        const { startDistributed } = await import('../serve/distributed');
        const platform = await startDistributed({ ...settings, redisUrl: flags.redisUrl, metricsPort: Math.max(0, metricsPort), onProgress: say });
        printBanner(platform.grpcAddress, platform.httpAddress, platform.modelId, 'distributed', settings, platform.metricsAddresses);
        await serveUntilSignal(say, () => platform.close(), () => platform.kill());
        return;
      }
      const { startEmbedded } = await import('../serve/embedded');
      const platform = await startEmbedded({ ...settings, metricsPort, onProgress: say });
      printBanner(platform.grpcAddress, platform.httpAddress, platform.modelId, 'embedded', settings, platform.metricsAddress ? { 'llm serve': platform.metricsAddress } : {});
      await serveUntilSignal(say, async () => {
        await platform.drain(25_000);
        await platform.close();
      }, () => undefined);
    });
};
