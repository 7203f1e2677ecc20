/**
 * API keys and TLS of `llm serve` (the apps' shared --api-key, --api-keys-file, --auth-exempt,
 * --tls-cert, --tls-key, --tls-ca): embedded mode applies them to its public ports; distributed
 * mode hands them to its processes (TLS between them too when a CA is given).
 */
export interface ServeSecurity {
  apiKey: string[];
  apiKeysFile: string;
  authExempt: string[];
  tlsCert: string;
  tlsKey: string;
  tlsCa: string;
}

/** What `llm serve` needs to start the platform, embedded or distributed (parsed from its flags). */
export interface ServeSettings {
  modelDir: string;
  host: string;
  grpcPort: number;
  httpPort: number;
  backend: 'ort' | 'ts';
  threads: number;
  kvCacheGib: number;
  blockSize: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  /** Most prefill tokens per scheduler step, whole prompts first come first served (absent: the orchestrator's default; 0: the step budget). */
  maxPrefillTokensPerStep?: number;
  /** Longest a running sequence's decode waits while prompts prefill first, in ms (absent: the orchestrator's default; 0: never). */
  maxDecodeDeferMs?: number;
  /** Quantize the model's linear layers while loading (absent: as stored). */
  quantize?: 'q8_0' | 'q4_0';
  /** Names clients may use for the model (--served-model-name); the first is the id reported. */
  servedModelNames?: string[];
  /** API keys and TLS (default: none, plaintext). */
  security?: ServeSecurity;
  /** Log level of the services (default info). */
  logLevel?: string;
  /** Accept internals-trace requests and serve /internals (orchestrator and worker; default off). */
  allowTrace?: boolean;
  /** Largest internals trace one request may ask for, in bytes (default the orchestrator's). */
  maxTraceBytes?: number;
  /** Speculative decoding on the worker (absent: off): prompt lookup, or a draft model directory. */
  speculative?: { method: 'ngram' | 'draft'; numTokens: number; draftModel?: string; backend?: 'ort' | 'ts' };
  /** The worker's ONNX Runtime sessions on the event loop's thread (the old path, for A/B; default off). */
  ortMainThread?: boolean;
  /** Single-stream decode steps on the platform's own wasm kernels (default) or on ONNX Runtime. */
  decodeKernel?: 'wasm' | 'ort';
  /** The scheduler's async scheduling (pipelined decode steps); undefined: on --distributed, off embedded. */
  asyncScheduling?: boolean;
}
