// One fast-check seed per test file run, printed so that a failure can be replayed with FC_SEED=<seed>.
export function propertySeed(file: string): number {
  const fromEnv = process.env['FC_SEED']
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
  if (!Number.isInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(fromEnv)}`)
  process.stdout.write(`[${file}] fast-check seed ${seed} (replay: FC_SEED=${seed})\n`)
  return seed
}
