/**
 * fast-check arbitraries for hostile and ordinary field values: numbers at and beyond every
 * numeric type's range (float32 max and overflow, denormals, +-0, NaN and Infinity where the wire
 * can carry them, int32/uint32/uint64 edges, 2^53), strings from empty to 100,000 characters and
 * odd Unicode (lone surrogates, NUL), lists and objects large and small, JSON nested deeper than
 * any limit, and values of the wrong type. Used by both fuzzers.
 *
 * What it is not: a schema; fuzz-http.ts and fuzz-grpc.ts pick arbitraries per field from the
 * zod schemas and the proto descriptors.
 */
import fc from 'fast-check';

export const FLOAT32_MAX = 3.4028234663852886e38;

export const extremeNumbers = fc.constantFrom(
  0, -0, 1, -1, 0.5, 2, 1e-45, 1e-320, 1.17549435e-38, FLOAT32_MAX, -FLOAT32_MAX, 3.5e38, 1e308, -1e308,
  2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 64, Number.MAX_VALUE, -Number.MAX_VALUE,
);

/** A number under a [min, max] rule: in range, at its edges, just outside, or extreme. */
export function numberIn(min: number, max: number): fc.Arbitrary<number> {
  const hi = Math.min(max, 1e6);
  return fc.oneof(
    { weight: 5, arbitrary: fc.double({ min, max: hi, noNaN: true }) },
    { weight: 3, arbitrary: fc.integer({ min: Math.max(-1e6, Math.ceil(min)), max: Math.floor(hi) }) },
    { weight: 2, arbitrary: fc.constantFrom(min, max, min - 1, max + 1, min - 1e-9) },
    { weight: 2, arbitrary: extremeNumbers },
  );
}

export const hugeString = fc.constantFrom(100_000, 30_000, 5_000).map((n) => 'x'.repeat(n));
export const oddString = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('', '\u0000', '\ud800', '\udfff\ud800', '<|endoftext|>', '1234', ' '));

/** JSON nested `depth` levels (arrays or objects). */
export function nested(depth: number, kind: 'array' | 'object' = 'array'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** A value of some other JSON type than expected (as JSON text, since deep nesting cannot be an object here). */
export const wrongTypeJson = fc.oneof(
  fc.constantFrom('null', 'true', '"text"', '[]', '{}', '[1,2,3]', '{"a":1}', '-1', '1e999', '"1e308"'),
  fc.constantFrom(nested(100), nested(5000), nested(64, 'object'), nested(5000, 'object')),
);
