// libs/kv's conformance suite through the KvManager service: over a real gRPC server on
// 127.0.0.1, and through the platform's in-process transport (the embedded composition).
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { GrpcServerHost, connectGrpc, createInProcessClient, type GrpcConnection } from '@llm/platform';
import { kv } from '@llm/proto';
import { kvConformanceSuite, type KvDriver } from '@llm/kv/testing';
import { KvManagerModule, createKvManagerService } from '../src';
import { clientDriver } from './grpc-driver';

describe('KvManager over gRPC on 127.0.0.1', () => {
  let app: INestApplicationContext;
  let conn: GrpcConnection<typeof kv.KvManagerDefinition>;
  let driver: KvDriver;
  let now = 5_000;

  beforeAll(async () => {
    const module = KvManagerModule.register({ host: '127.0.0.1', grpcPort: 0, leaseSweepMs: 60_000 }, true, { now: () => now });
    app = await NestFactory.createApplicationContext(module, { logger: false });
    conn = connectGrpc(kv.KvManagerDefinition, app.get(GrpcServerHost).address);
    driver = clientDriver(conn.client, (ms) => {
      now += ms;
    });
  });
  afterAll(async () => {
    conn?.close();
    await app?.close();
  });

  kvConformanceSuite(() => driver, { numRuns: 25 });
});

describe('KvManager in process', () => {
  let close: () => Promise<void>;
  let driver: KvDriver;
  let now = 5_000;

  beforeAll(async () => {
    const svc = await createKvManagerService({ leaseSweepMs: 60_000 }, { now: () => now });
    close = svc.close;
    driver = clientDriver(createInProcessClient(kv.KvManagerDefinition, svc.implementation), (ms) => {
      now += ms;
    });
  });
  afterAll(() => close?.());

  kvConformanceSuite(() => driver, { numRuns: 20 });
});
