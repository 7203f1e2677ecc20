/**
 * @llm/model: Hugging Face model directories (config.json, safetensors, generation_config.json),
 * the reference transformer forward for llama / qwen2 / mixtral / gpt2, and sampling.
 *
 * Loading:   loadModelDir(dir) -> LoadedModel { config: ModelConfig, generation, weights, tokenizerPath }
 *            parseConfig(json) / configToHf(config); readSafetensors(path | paths) / writeSafetensors(...)
 * Weights:   ONE internal naming for every architecture (HF Llama names plus GPT-2's extras; linear
 *            weights [out, in]; f32; GPT-2 Conv1D transposed and c_attn split into q/k/v; lm_head is the
 *            embedding array when tied): the full list with shapes is in ./weights/names.ts.
 * Writing:   saveModelDir(dir, config, weights, { dtype, tokenizerJson, generationConfig, maxShardBytes }),
 *            initRandomModel(arch, hfOverrides, seed), initModelDir(dir, arch, opts) (what `llm init-model` does).
 * Forward:   new Transformer(config, weights, { moeExecutor?, attention?, matmulTransB? })
 *            .forward(tokens, cache?, { lastOnly? }) -> logits (T, V); MoeLayerExecutor / ReferenceMoeExecutor.
 * Sampling:  sampleToken(logits, params, state, u), uniformFromCounter(seed, sampleIndex, position),
 *            generate(model, prompt, { maxTokens, sampling, stopTokenIds }).
 * Quantize:  quantizeModelWeights(config, weights, { format: 'q8_0' | 'q4_0' }) (ggml block formats,
 *            ./quant), loadModelDir(dir, { quantize }); quantized directories save and load as usual.
 * GGUF:      loadModelDir / loadConfig accept a .gguf file; saveGguf(path, model, { tokenizerJson });
 *            openGguf (bounds-checked reader), readModelTokenizerFiles(path) (./gguf).
 * Testing:   plainForward (./testing), an independent float64 forward over HF-named tensors.
 */
export * from './config';
export * from './io';
export * from './weights';
export * from './init-random';
export * from './init-model-dir';
export * from './transformer';
export * from './sampling';
export * from './runner';
export * from './speculative';
export * from './onnx';
export * from './quant';
export * from './gguf';
export * from './workloads';
export * from './wasm-decode';
