/**
 * @llm/model: Hugging Face model directories (config.json, safetensors, generation_config.json),
 * the reference transformer forward for llama / qwen2 / mixtral / gpt2, and sampling.
 *
 * Weights of a LoadedModel use ONE internal naming for every architecture (HF Llama names plus
 * GPT-2's extras, linear weights [out, in], f32): see ./weights/names.ts for the full list.
 */
export * from './config';
export * from './io';
export * from './weights';
export * from './init-random';
export * from './init-model-dir';
export * from './transformer';
export * from './sampling';
export * from './runner';
export * from './onnx';
