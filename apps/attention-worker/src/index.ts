// The attention worker app: module, service, config schema and the pieces the embedded composition root reuses.
export * from './attention-worker.config';
export * from './attention-worker.module';
export * from './attention-worker.service';
export * from './attention-worker.metrics';
export * from './worker-engine';
export * from './router-moe-executor';
export * from './kv-registration';
export * from './step-mapping';
