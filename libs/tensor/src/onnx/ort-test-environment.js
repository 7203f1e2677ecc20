/*
 * Jest environment for tests that run ONNX Runtime. Jest evaluates each test file in its own
 * VM realm, whose Float32Array (etc.) differ from the Node main realm's. onnxruntime-node's
 * native binding returns outputs as main-realm typed arrays, and onnxruntime-common then
 * checks `data instanceof Float32Array` against the test realm's constructor and throws
 * "A float32 tensor's data must be type of Float32Array". This environment makes the test
 * realm use the main realm's typed-array constructors, so both sides agree.
 *
 * Use it per test file with a docblock at the very top (path relative to the jest rootDir):
 *   /** @jest-environment ./src/onnx/ort-test-environment.js *\/
 * It is not a general-purpose environment: it only swaps these constructors.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class OrtTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OrtTestEnvironment;
