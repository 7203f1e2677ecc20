/*
 * @llm/kv/testing: the kv-manager's conformance suite (hand-worked examples and
 * interleaving properties) over an async KvDriver, the in-process driver, and the
 * token-storing worker stand-in. Test-only: imports jest globals and fast-check.
 */
export { inProcessDriver } from './kv-driver';
export type { KvDriver, DriverAllocation, DriverSlots, DriverStats, DriverError } from './kv-driver';
export { WorkerSim } from './worker-sim';
export { kvExampleSuite, expectKvError, range } from './kv-suite-examples';
export { kvPropertySuite, ScenarioRunner, scenarioArb } from './kv-suite-properties';
export type { Coverage } from './kv-suite-properties';

/** Both halves of the suite on one driver. */
import { KvDriver } from './kv-driver';
import { kvExampleSuite } from './kv-suite-examples';
import { kvPropertySuite } from './kv-suite-properties';

export function kvConformanceSuite(getDriver: () => KvDriver, options: { numRuns: number }): void {
  describe('examples', () => kvExampleSuite(getDriver));
  describe('properties', () => kvPropertySuite(getDriver, options.numRuns));
}
