// The kv-manager conformance suite against the library in process (the same suite runs
// over gRPC in apps/kv-manager).
import { inProcessDriver, kvConformanceSuite } from '../src/testing';

describe('KvPools in process', () => {
  const driver = inProcessDriver();
  kvConformanceSuite(() => driver, { numRuns: 60 });
});
