/*
 * createOrtSession: the one place the platform opens an ONNX Runtime (CPU) session, so every
 * session gets the same thread settings: intra-op threads as asked, one inter-op thread, full
 * graph optimisation, and intra-op spinning OFF. Spinning thread pools in several sessions of
 * one process fight over the cores (measured 25x slower on a 2-core machine), so it is not an
 * option here.
 *
 * Also small helpers to wrap typed arrays as ORT tensors and read outputs back.
 * Not a model runner: graphs come from OnnxGraphBuilder or any ONNX bytes.
 * Reference: onnxruntime-node InferenceSession.SessionOptions; ORT session config keys
 * (session.intra_op.allow_spinning in onnxruntime_session_options_config_keys.h).
 */
import * as ort from 'onnxruntime-node';

export interface OrtSessionOptions {
  /** Intra-op threads (the MLAS thread pool). Must be a positive integer. */
  threads: number;
  /**
   * Benchmarks only: record a per-node profile (ORT's chrome-trace JSON), written to
   * `<prefix>_<timestamp>.json` when `session.endProfiling()` is called. Adds overhead to every run.
   */
  profileFilePrefix?: string;
}

/** The ORT session type the platform passes around. */
export type OrtSession = ort.InferenceSession;

/** Session options shared by every platform session (see the file comment for why). */
export function ortSessionOptions(threads: number, profileFilePrefix?: string): ort.InferenceSession.SessionOptions {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`createOrtSession: threads must be a positive integer, got ${threads}`);
  }
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
    ...(profileFilePrefix ? { enableProfiling: true, profileFilePrefix } : {}),
  };
}

/** Opens a CPU session over serialised ONNX bytes. Errors name the graph problem ORT reports. */
export async function createOrtSession(modelBytes: Uint8Array, opts: OrtSessionOptions): Promise<OrtSession> {
  const options = ortSessionOptions(opts.threads, opts.profileFilePrefix);
  try {
    return await ort.InferenceSession.create(modelBytes, options);
  } catch (e) {
    throw new Error(`createOrtSession: ONNX Runtime rejected the model (${(e as Error).message})`);
  }
}

/** Wraps a typed array as an ORT tensor without copying it (the native side reads its memory). */
export function ortTensor(data: Float32Array | Int32Array | BigInt64Array | Uint8Array, dims: number[]): ort.Tensor {
  if (data instanceof Float32Array) return new ort.Tensor('float32', data, dims);
  if (data instanceof Int32Array) return new ort.Tensor('int32', data, dims);
  if (data instanceof BigInt64Array) return new ort.Tensor('int64', data, dims);
  return new ort.Tensor('bool', data, dims);
}

/** The float32 data of a named output, with a clear error when it is missing or of another type. */
export function outputF32(results: ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const t = results[name];
  if (!t) throw new Error(`ORT run: output '${name}' is missing`);
  if (t.type !== 'float32') throw new Error(`ORT run: output '${name}' is ${t.type}, expected float32`);
  return t.data as Float32Array;
}
