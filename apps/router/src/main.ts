/**
 * Standalone router: `node apps/router/dist/src/main.js --model-dir DIR [--hosted-experts 0-3]
 * [--peers host:port,...] [--grpc-port 50053]`. Loads the model's MoE layers, serves
 * llm.router.v1.Router with grpc.health.v1 and reflection, drains on SIGTERM.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { exitWithParent, GrpcServerHost, loadConfig, nestLogger, runMain } from '@llm/platform';
import { createRouterMoe } from './router.factory';
import { routerConfigSchema } from './router.config';
import { RouterModule } from './router.module';

async function main(): Promise<void> {
  exitWithParent();
  const config = loadConfig(routerConfigSchema);
  const { moe, connections } = await createRouterMoe(config);
  const app = await NestFactory.createApplicationContext(RouterModule.register(moe, { host: config.host, port: config.grpcPort }), {
    logger: nestLogger(['error', 'warn', 'log']),
    abortOnError: false,
  });
  app.enableShutdownHooks();
  const host = app.get(GrpcServerHost);
  process.stdout.write(
    `router: ${moe.modelId}, MoE layers [${moe.moeLayers.join(', ')}], hosting experts [${moe.local.hostedExperts.join(', ')}] ` +
      `on ${host.address}\n`,
  );
  const close = () => {
    for (const c of connections) c.close();
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

runMain('router', main);
