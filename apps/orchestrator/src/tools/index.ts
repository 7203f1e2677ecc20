// Tool calling: request schemas, model families, rendering with tools, reply parsing (whole and streamed), call grammars.
export * from './schemas';
export * from './families';
export * from './parsers';
export * from './render';
export * from './grammar';
export * from './stream';
