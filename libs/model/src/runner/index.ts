// The worker engine: step-backend contract, KV pool, TS backend and the ModelRunner.
export * from './types';
