/**
 * Standalone router: `node apps/router/dist/src/main.js --model DIR [--hosted-experts 0-3]
 * [--peers host:port,...] [--grpc-port 50053]`. Loads the model's MoE layers, serves
 * llm.router.v1.Router with grpc.health.v1 and reflection, drains on SIGTERM. A dense model
 * leaves it idle but healthy (Dispatch answers FAILED_PRECONDITION). `--help` lists every setting.
 */
import { config } from './args'; // first: answers --help and bad flags before the heavy imports below
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { basename } from 'node:path';
import { exitWithParent, GrpcServerHost, nestLogger, reportBoundPorts, reservePort, runMain, serverSecurity, setLogLevel, startTelemetry } from '@llm/platform';
import { IdleRouterService } from './idle-router.service';
import { loadRouterModel, routerFromModel } from './router.factory';
import { RouterModule } from './router.module';

async function main(): Promise<void> {
  exitWithParent();
  setLogLevel(config.logLevel);
  await reservePort(config.host, config.grpcPort); // before any outgoing connection can take it as its local port
  const telemetry = await startTelemetry('router', config); // tracing (when OTEL_* asks) and /metrics on --metrics-port
  const grpc = { host: config.host, port: config.grpcPort, ...serverSecurity(config, 'internal') };
  const loaded = await loadRouterModel(config);
  const logger = nestLogger(config.logLevel);
  if (loaded.config.numExperts === 0) {
    const idle = new IdleRouterService(basename(loaded.dir), loaded.config.architecture, loaded.config.hiddenSize);
    const app = await NestFactory.createApplicationContext(RouterModule.registerIdle(idle, grpc), { logger, abortOnError: false });
    app.enableShutdownHooks();
    process.stdout.write(`router: ${basename(loaded.dir)} is dense (${loaded.config.architecture}): idle, healthy on ${app.get(GrpcServerHost).address}\n`);
    reportBoundPorts({ grpc: app.get(GrpcServerHost).port, metrics: telemetry.metrics?.port }); // to `llm serve --distributed`, which started it on port 0
    return;
  }
  const { moe, connections } = routerFromModel(loaded, config);
  const app = await NestFactory.createApplicationContext(RouterModule.register(moe, grpc), { logger, abortOnError: false });
  app.enableShutdownHooks();
  const host = app.get(GrpcServerHost);
  process.stdout.write(
    `router: ${moe.modelId}, MoE layers [${moe.moeLayers.join(', ')}], hosting experts [${moe.local.hostedExperts.join(', ')}] ` +
      `on ${host.address}\n`,
  );
  reportBoundPorts({ grpc: host.port, metrics: telemetry.metrics?.port }); // to `llm serve --distributed`, which started it on port 0
  const close = () => {
    for (const c of connections) c.close();
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

runMain('router', main);
