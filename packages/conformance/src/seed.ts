/**
 * The fast-check seed for one property run (or one test file), printed so that a failure can be
 * replayed with `FC_SEED=<seed>`. fast-check prints the seed of a failing run itself; the line here
 * covers passing runs too, which is what makes a flaky pass reproducible.
 *
 * @param label - what the seed is for, printed beside it (a property or a test file)
 * @throws TypeError when `FC_SEED` is set but not an integer: a mistyped replay must not run another seed
 */
export function fastCheckSeed(label: string): number {
  const fromEnv = process.env['FC_SEED']
  let seed: number
  if (fromEnv !== undefined && fromEnv !== '') {
    seed = Number(fromEnv)
    if (!Number.isSafeInteger(seed)) throw new TypeError(`FC_SEED must be an integer, got ${JSON.stringify(fromEnv)}`)
  } else {
    seed = (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0
  }
  process.stdout.write(`[${label}] fast-check seed ${seed} (replay with FC_SEED=${seed})\n`)
  return seed
}
