/** Test helpers for this library and its consumers: an independent plain float64 forward over HF-named tensors. */
export { plainForward, type PlainObserver } from './plain-forward';
