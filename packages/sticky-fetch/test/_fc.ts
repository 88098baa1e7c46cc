import type { Parameters } from 'fast-check'
import { fastCheckSeed } from 'sticky-conformance'

/** One seed per test file run, printed so that any property run can be replayed with `FC_SEED=<seed>`. */
export const seed: number = fastCheckSeed('sticky-fetch')

/** `fc.assert` parameters carrying the run's seed. */
export function fcParams<T>(numRuns?: number): Parameters<T> {
  return numRuns === undefined ? { seed } : { seed, numRuns }
}
