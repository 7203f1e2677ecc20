export * from './names';
export * from './hf-names';
