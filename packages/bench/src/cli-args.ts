/** What the runner was asked to do. */
export interface RunRequest {
  /** The subjects to run, in the runner's order (every subject when none was named). */
  readonly subjects: readonly string[]
  /** `--quick`: tiny budgets, to check that every benchmark still runs; the numbers mean nothing. */
  readonly quick: boolean
  /** `--no-write`: print the results without rewriting the results page. Implied by `--quick`. */
  readonly write: boolean
}

/**
 * Reads the runner's arguments: subject names (`decide`, `http`, ...), `--quick` and `--no-write`.
 * A lone `--` is skipped, as package managers may pass one through.
 * @throws RangeError naming the unknown argument and listing the known subjects.
 */
export function parseRunArgs(args: readonly string[], known: readonly string[]): RunRequest {
  const named = new Set<string>()
  let quick = false
  let write = true
  for (const arg of args) {
    if (arg === '--') continue
    if (arg === '--quick') quick = true
    else if (arg === '--no-write') write = false
    else if (known.includes(arg)) named.add(arg)
    else
      throw new RangeError(
        `unknown benchmark ${JSON.stringify(arg)}: expected ${known.join(', ')}, --quick or --no-write (or reliability, alone, for the reliability bench)`,
      )
  }
  const subjects = named.size === 0 ? [...known] : known.filter((name) => named.has(name))
  return { subjects, quick, write: write && !quick }
}
