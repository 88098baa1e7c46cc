import fc from 'fast-check'
import { fastCheckSeed } from 'sticky-conformance'

/**
 * Runs a fast-check property with a seed that is printed first, so any failure can be replayed
 * with `FC_SEED=<seed>`.
 */
export function checkProperty<Ts extends [unknown, ...unknown[]]>(
  label: string,
  // biome-ignore lint/suspicious/noConfusingVoidType: fast-check predicates may return nothing, as uvu assertions do
  ...args: [...arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, predicate: (...values: Ts) => boolean | void]
): void {
  fc.assert(fc.property<Ts>(...args), { seed: fastCheckSeed(label), numRuns: 300 })
}
