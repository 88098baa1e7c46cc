import fc from 'fast-check'

/** The seed for this run: `FC_SEED` replays a failure, otherwise a fresh one. */
function chooseSeed(): number {
  const fromEnv = process.env['FC_SEED']
  if (fromEnv !== undefined && fromEnv !== '') {
    const seed = Number(fromEnv)
    if (Number.isInteger(seed)) return seed
    throw new TypeError(`FC_SEED must be an integer, got ${JSON.stringify(fromEnv)}`)
  }
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0
}

/**
 * Runs a fast-check property with a seed that is printed first, so any failure can be replayed
 * with `FC_SEED=<seed>`.
 */
export function checkProperty<Ts extends [unknown, ...unknown[]]>(
  label: string,
  ...args: [...arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, predicate: (...values: Ts) => boolean | void]
): void {
  const seed = chooseSeed()
  console.log(`fast-check ${label}: seed=${seed} (replay with FC_SEED=${seed})`)
  fc.assert(fc.property<Ts>(...args), { seed, numRuns: 300 })
}
