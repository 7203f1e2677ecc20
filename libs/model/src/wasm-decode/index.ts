export * from './plan';
export * from './decoder';
export * from './backend';
export * from './kernel-choice';
