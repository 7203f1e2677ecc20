/** The internal weight naming (./names) and its mapping to and from Hugging Face checkpoint names (./hf-names). */
export * from './names';
export * from './hf-names';
