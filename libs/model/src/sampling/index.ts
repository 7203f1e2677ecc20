/** Sampling: parameters and state, the token sampler, the counter-based RNG, and single-sequence generation. */
export * from './counter-rng';
export * from './params';
export * from './sampler';
export * from './generate';
