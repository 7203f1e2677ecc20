/*
 * The OpenAI request body schemas (zod 4), composable: extend completionRequestSchema,
 * chatRequestSchema, chatMessageSchema or baseRequestSchema with `.extend()` to add fields; the
 * structured-output, tool and trace fields are such extensions. One schema checks each body.
 */
export * from './fields';
export * from './sampling';
export * from './base';
export * from './structured-output';
export * from './tools';
export * from './trace';
export * from './completion';
export * from './chat';
export * from './embeddings';
export * from './parse';
