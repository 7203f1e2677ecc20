/** @jest-environment ../tensor/src/onnx/ort-test-environment.js */
/*
 * The ORT backend's final-norm hidden rows (what embeddings pool) equal the TS backend's, for
 * every row of a prompt, with and without the batch split into pieces.
 */
import { initRandomModel } from '../init-random';
import { buildFlatBatch } from '../runner/flat-batch';
import { createKvPool } from '../runner/kv-pool';
import { TsBackend } from '../runner/ts-backend';
import { tsDecoderFromModel } from '../runner/ts-decoder';
import type { ForwardExtras } from '../runner/types';
import { OrtBackend } from './ort-backend';

it('ORT hidden rows equal the TS backend hidden rows', async () => {
  const m = initRandomModel('qwen2', {}, 4);
  const c = m.config;
  const pool = () => createKvPool({ numBlocks: 16, blockSize: 4, numLayers: c.numLayers, numKvHeads: c.numKvHeads, headDim: c.headDim });
  const seq = { seqId: 's', tokenIds: [3, 14, 15, 92, 65, 35, 89], startPosition: 0, blockIds: [1, 2], sample: true, embedPooling: 'mean' as const };
  const batch = buildFlatBatch([seq], 4);
  expect(batch.logitRows).toHaveLength(7);
  const ts: ForwardExtras = {};
  await new TsBackend(tsDecoderFromModel(c, m.weights)).forward(batch, pool(), ts);
  const ort = await OrtBackend.create(m, { threads: 1 });
  const got: ForwardExtras = {};
  await ort.forward(batch, pool(), got);
  await ort.dispose();
  expect(got.hidden?.length).toBe(7 * c.hiddenSize);
  let diff = 0;
  for (let i = 0; i < (ts.hidden as Float32Array).length; i++) diff = Math.max(diff, Math.abs((ts.hidden as Float32Array)[i] - (got.hidden as Float32Array)[i]));
  expect(diff).toBeLessThan(1e-4);
});
