import type { Parameters } from 'fast-check'

/**
 * One seed per test run, printed so that a run can be replayed with `FC_SEED=<seed>`; fast-check also
 * prints the seed and the shrunk counterexample of a failure.
 */
export const seed: number =
  process.env['FC_SEED'] !== undefined && process.env['FC_SEED'] !== '' ? Number(process.env['FC_SEED']) : (Date.now() ^ (Math.random() * 0x100000000)) | 0

process.stdout.write(`fast-check seed ${seed} (replay with FC_SEED=${seed})\n`)

/** Options for `fc.assert` with the run's seed. */
export function fcParams<T>(numRuns?: number): Parameters<T> {
  return numRuns === undefined ? { seed } : { seed, numRuns }
}
