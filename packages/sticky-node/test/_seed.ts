/**
 * The fast-check seed for one property run, printed so a failure can be replayed with
 * `FC_SEED=<seed>`.
 */
export function seedFor(label: string): number {
  const fromEnv = process.env['FC_SEED']
  const seed = fromEnv !== undefined && fromEnv !== '' && Number.isSafeInteger(Number(fromEnv))
    ? Number(fromEnv)
    : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
  console.log(`[${label}] fast-check seed ${seed} (replay with FC_SEED=${seed})`)
  return seed
}
