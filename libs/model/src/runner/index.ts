// The worker engine: step-backend contract, KV pool, step validation, the TS backend and the ModelRunner.
export * from './types';
export * from './step-types';
export * from './errors';
export * from './kv-pool';
export * from './flat-batch';
export * from './validate-step';
export * from './seq-state';
export * from './decoder-weights';
export * from './ts-decoder';
export * from './ts-backend';
export * from './sample-seq';
export * from './model-runner';
export * from './create-runner';
export * from './grammar-engine';
export * from './trace-types';
export * from './step-trace';
