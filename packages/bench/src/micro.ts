import { do_not_optimize, measure } from 'mitata'
import { best } from './stats'

/** A micro benchmark: one operation, measured by mitata. */
export interface MicroCase {
  readonly name: string
  /** The time of one operation in nanoseconds: mitata's median sample of one round. */
  measureOnce(budgetNs: number): Promise<number>
}

/** How long to measure, and how often. */
export interface MicroBudget {
  /** Interleaved rounds (every case once per round): drift on a busy machine hits every case alike. */
  readonly rounds: number
  /** Minimum CPU time per case and round, in nanoseconds (mitata's `min_cpu_time`). */
  readonly perRoundNs: number
}

/** About 0.75 s per case: enough for a stable median, and a full run stays within its budget. */
export const FULL_BUDGET: MicroBudget = { rounds: 3, perRoundNs: 250e6 }
/** Runs each case once, briefly: for `--quick`. */
export const QUICK_BUDGET: MicroBudget = { rounds: 1, perRoundNs: 2e6 }

/**
 * A case whose input comes from `input` per iteration, as a mitata computed parameter: the operation
 * cannot be hoisted out of the loop or folded into a constant, and producing the input is not timed.
 * The result goes to `do_not_optimize`, so the operation cannot be dropped as dead code either.
 */
export function microCase<T>(name: string, input: () => T, operation: (value: T) => unknown): MicroCase {
  return {
    name,
    async measureOnce(budgetNs: number): Promise<number> {
      const generator = function* (): Generator<unknown, void, undefined> {
        yield { 0: input, bench: (value: T): void => do_not_optimize(operation(value)) }
      }
      // mitata's types only describe yielding a bare function; its computed-parameter form is an object.
      const stats = await measure(generator as unknown as () => Generator<() => unknown, void, undefined>, {
        min_cpu_time: budgetNs,
      })
      return stats.p50
    },
  }
}

/**
 * Measures every case in interleaved rounds and returns, per case name, the best round's median
 * time per operation in nanoseconds.
 * @throws RangeError when two cases share a name (their results would merge) or `rounds` is below 1.
 */
export async function measureCases(cases: readonly MicroCase[], budget: MicroBudget, log: (line: string) => void): Promise<Map<string, number>> {
  const names = new Set(cases.map((c) => c.name))
  if (names.size !== cases.length) throw new RangeError('two micro benchmark cases share a name')
  if (!Number.isInteger(budget.rounds) || budget.rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${budget.rounds}`)
  const rounds = new Map<string, number[]>(cases.map((c) => [c.name, []]))
  for (let round = 0; round < budget.rounds; round++) {
    for (const c of cases) {
      const ns = await c.measureOnce(budget.perRoundNs)
      rounds.get(c.name)!.push(ns)
      log(`  round ${round + 1}/${budget.rounds}  ${c.name}: ${ns.toFixed(1)} ns`)
    }
  }
  return new Map([...rounds].map(([name, values]) => [name, best(values)]))
}
