export * from './counter-rng';
export * from './params';
export * from './sampler';
export * from './generate';
