/*
 * Random JSON Schemas of the supported subset (fast-check), bounded so that any walk through them
 * ends: strings have a maxLength, numbers both bounds, arrays a maxItems; objects nest, anyOf
 * mixes. Used by this library's walk test and the platform's property test over real models.
 * What it is not: a JSON Schema fuzzer for unsupported keywords.
 */
import fc from 'fast-check';

const leaf = fc.oneof(
  fc.record({ type: fc.constant('string'), maxLength: fc.integer({ min: 0, max: 6 }) }),
  fc.integer({ min: -50, max: 50 }).chain((lo) => fc.record({ type: fc.constant('integer'), minimum: fc.constant(lo), maximum: fc.integer({ min: lo, max: lo + 300 }) })),
  fc.integer({ min: -9, max: 9 }).chain((lo) => fc.record({ type: fc.constant('number'), minimum: fc.constant(lo), maximum: fc.integer({ min: lo, max: lo + 3 }) })),
  fc.constant({ type: 'boolean' }),
  fc.constant({ type: 'null' }),
  fc.record({ enum: fc.uniqueArray(fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.constant(null)), { minLength: 1, maxLength: 3 }) }),
  fc.record({ const: fc.oneof(fc.string({ maxLength: 5 }), fc.boolean()) }),
  fc.record({ type: fc.constant('string'), pattern: fc.constantFrom('^[a-f]{1,3}$', '^\\d{2}-\\d{2}$', '^(red|green)$') }),
);

/** A bounded schema of the supported subset. */
export const boundedSchema: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
  schema: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('object'), tie('array'), tie('anyOf')),
  object: fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), tie('schema'), { maxKeys: 4 }).chain((properties) =>
    fc.subarray(Object.keys(properties)).map((required) => ({ type: 'object', properties, required, additionalProperties: false })),
  ),
  array: fc.record({ type: fc.constant('array'), items: tie('schema'), minItems: fc.integer({ min: 0, max: 1 }), maxItems: fc.integer({ min: 1, max: 3 }) }),
  anyOf: fc.record({ anyOf: fc.array(tie('schema'), { minLength: 1, maxLength: 3 }) }),
})).schema as fc.Arbitrary<Record<string, unknown>>;

/** A bounded object schema (what response_format json_schema usually holds). */
export const boundedObjectSchema: fc.Arbitrary<Record<string, unknown>> = fc
  .dictionary(fc.string({ minLength: 1, maxLength: 6 }), boundedSchema, { minKeys: 1, maxKeys: 4 })
  .chain((properties) => fc.subarray(Object.keys(properties)).map((required) => ({ type: 'object', properties, required, additionalProperties: false })));
