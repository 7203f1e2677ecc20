// Distributed mode: Train runs as a BullMQ job on a real Redis (container or redis-server,
// via @llm/testing). One service only enqueues; another replica consumes the job. The
// caller's stream relays the job's progress and result, tagged with the job id.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { createInProcessClient } from '@llm/platform';
import { tokenizer as pb } from '@llm/proto';
import { startRedis, type StartedRedis } from '@llm/testing';
import { loadTokenizerJson, trainBpe, toTokenizerJson } from '@llm/tokenizer';
import { TokenizerService, TokenizerServiceModule, type TokenizerServiceConfig } from '../src';

let redis: StartedRedis;
const apps: INestApplicationContext[] = [];

async function service(cfg: Partial<TokenizerServiceConfig>): Promise<TokenizerService> {
  const config: TokenizerServiceConfig = { host: '127.0.0.1', grpcPort: 0, model: '', redisUrl: redis.url, trainQueue: 'tok-train-test', trainWorker: true, ...cfg };
  const app = await NestFactory.createApplicationContext(TokenizerServiceModule.register(config, false), { logger: false });
  await app.init();
  apps.push(app);
  return app.get(TokenizerService);
}

beforeAll(async () => {
  redis = await startRedis();
}, 120_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  await redis?.stop();
});

it('runs Train as a BullMQ job consumed by another replica, relaying progress and the result', async () => {
  const front = createInProcessClient(pb.TokenizerDefinition, await service({ trainWorker: false }));
  await service({ trainWorker: true }); // the consumer
  const text = 'the cat sat on the mat. the dog sat on the log. cats and dogs! '.repeat(60);
  const events: pb.TrainResponse[] = [];
  for await (const ev of front.train({ corpus: Buffer.from(text), vocabSize: 276, specialTokens: [], pattern: '' })) events.push(ev);
  const last = events[events.length - 1];
  expect(last.done).toBe(true);
  expect(last.jobId).not.toBe('');
  expect(events.every((e) => e.jobId === last.jobId)).toBe(true);
  expect(events.length).toBeGreaterThan(1);
  // the job trains exactly what the library trains
  expect(JSON.parse(last.tokenizerJson)).toEqual(toTokenizerJson(trainBpe(text, { vocabSize: 276 })));
  expect(loadTokenizerJson(last.tokenizerJson).decode(loadTokenizerJson(last.tokenizerJson).encode('the cat'))).toBe('the cat');
}, 120_000);

it('reports a corpus too small for the vocabulary as INVALID_ARGUMENT with the job id', async () => {
  const front = createInProcessClient(pb.TokenizerDefinition, await service({ trainWorker: true }));
  await expect(
    (async () => {
      for await (const _ of front.train({ corpus: Buffer.from('ab'), vocabSize: 300, specialTokens: [], pattern: '' })) void _;
    })(),
  ).rejects.toMatchObject({ details: expect.stringMatching(/training job \S+ failed: trainBpe: the corpus has only enough distinct pairs/) });
}, 120_000);
