/*
 * Training checkpoints: model parameters, optimiser state and data-stream position, so a
 * resumed run continues bit-for-bit. Layout of a checkpoint directory:
 *   checkpoint.json   { format, step, config (as config.json), optimizer: {kind, step}, dataState, meta,
 *                       tensors: [{ name, dtype: 'F32' | 'F64', shape, offset, length }] }
 *   checkpoint.bin    the tensors, little-endian, concatenated (parameters F32, optimiser
 *                     buffers F64 under "<param>#<i>")
 * Written to a temporary sibling directory and renamed into place, so a crash mid-write
 * never leaves a half-written checkpoint where the last good one was.
 *
 * Not the export format: `exportModelDir` writes a Hugging Face directory for serving.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Arr, Var } from './autograd/var';
import { configToHf, type ModelConfig, parseConfig } from '@llm/model';
import type { ParamMap } from './model/params';
import type { OptimizerState } from './optim/optimizers';

export const CHECKPOINT_FORMAT = 'llm-training-checkpoint/1';

export interface CheckpointData {
  step: number;
  config: ModelConfig;
  params: ParamMap;
  optimizer: OptimizerState;
  dataState: number;
  /** Free-form run settings recorded for mismatch checks on resume (task, seq len, ...). */
  meta: Record<string, string | number | boolean>;
}

interface TensorEntry {
  name: string;
  dtype: 'F32' | 'F64';
  shape: number[];
  offset: number;
  length: number;
}

export function saveCheckpoint(dir: string, ck: CheckpointData): void {
  const entries: TensorEntry[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  const push = (name: string, data: Arr, shape: number[]): void => {
    const dtype = data instanceof Float64Array ? 'F64' : 'F32';
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ name, dtype, shape, offset, length: buf.length });
    chunks.push(Buffer.from(buf)); // copy: the parameter keeps changing after this call
    offset += buf.length;
  };
  for (const [name, p] of ck.params) push(name, p.data, p.shape);
  for (const [name, bufs] of Object.entries(ck.optimizer.buffers)) {
    bufs.forEach((b, i) => push(`${name}#${i}`, Float64Array.from(b), [b.length]));
  }
  const header = {
    format: CHECKPOINT_FORMAT,
    step: ck.step,
    config: configToHf(ck.config),
    optimizer: { kind: ck.optimizer.kind, step: ck.optimizer.step },
    dataState: ck.dataState,
    meta: ck.meta,
    tensors: entries,
  };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'checkpoint.bin'), Buffer.concat(chunks));
  writeFileSync(join(tmp, 'checkpoint.json'), JSON.stringify(header, null, 1));
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

export function loadCheckpoint(dir: string): CheckpointData {
  const jsonPath = join(dir, 'checkpoint.json');
  if (!existsSync(jsonPath)) throw new Error(`checkpoint ${dir} has no checkpoint.json (expected a directory written by llm train)`);
  const header = JSON.parse(readFileSync(jsonPath, 'utf8'));
  if (header.format !== CHECKPOINT_FORMAT) throw new Error(`checkpoint ${jsonPath}: format '${header.format}', expected '${CHECKPOINT_FORMAT}'`);
  const bin = readFileSync(join(dir, 'checkpoint.bin'));
  const params: ParamMap = new Map();
  const buffers: Record<string, Arr[]> = {};
  for (const e of header.tensors as TensorEntry[]) {
    if (e.offset + e.length > bin.length) throw new Error(`checkpoint ${dir}: tensor ${e.name} runs past the end of checkpoint.bin (truncated file?)`);
    const bytes = bin.subarray(e.offset, e.offset + e.length);
    const copy = new Uint8Array(bytes).buffer;
    const data = e.dtype === 'F64' ? new Float64Array(copy) : new Float32Array(copy);
    const hash = e.name.lastIndexOf('#');
    if (hash >= 0) (buffers[e.name.slice(0, hash)] ??= [])[Number(e.name.slice(hash + 1))] = data;
    else params.set(e.name, Var.param(data, e.shape, e.name));
  }
  return {
    step: header.step,
    config: parseConfig(header.config, `${jsonPath} (config)`),
    params,
    optimizer: { kind: header.optimizer.kind, step: header.optimizer.step, buffers },
    dataState: header.dataState,
    meta: header.meta ?? {},
  };
}
