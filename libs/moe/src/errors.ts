/**
 * Errors raised by the MoE library for input a caller can fix (wrong hidden size, unknown
 * layer, an expert a replica does not host, a NaN in the hidden states).
 *
 * Not a transport error: apps map `MoeInputError` to their own status (gRPC
 * INVALID_ARGUMENT). Anything else thrown from this library is a bug or an I/O failure.
 */

/** Bad input to a MoE call; `field` names the argument or config key that was wrong. */
export class MoeInputError extends Error {
  /** The status name services answer with (libs/platform toServerError reads it). */
  readonly code = 'INVALID_ARGUMENT';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'MoeInputError';
  }
}

/** Throws a MoeInputError naming `field` unless `ok`. */
export function check(ok: boolean, field: string, message: () => string): asserts ok {
  if (!ok) throw new MoeInputError(field, message());
}

/** Rejects NaN/Inf in a (T, C) block, naming the first bad token and channel. */
export function checkFinite(x: Float32Array, numTokens: number, hiddenSize: number, field: string): void {
  for (let i = 0; i < numTokens * hiddenSize; i++) {
    const v = x[i];
    // v - v is NaN for NaN and ±Inf, 0 otherwise.
    if (v - v !== 0) {
      const t = Math.floor(i / hiddenSize);
      throw new MoeInputError(
        field,
        `${field} has a non-finite value (${v}) at token ${t}, channel ${i - t * hiddenSize}; ` +
          'expected finite hidden states',
      );
    }
  }
}
