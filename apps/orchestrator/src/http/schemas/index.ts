/*
 * The OpenAI request body schemas (zod 4), composable: extend completionRequestSchema,
 * chatRequestSchema, chatMessageSchema or baseRequestSchema with `.extend()` to add fields.
 */
export * from './fields';
export * from './sampling';
export * from './base';
export * from './completion';
export * from './chat';
export * from './parse';
