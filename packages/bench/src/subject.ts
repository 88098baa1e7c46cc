import { formatMachine, type Machine } from './machine'

/** How the runner asks a subject to run. */
export interface BenchOptions {
  /** Tiny budgets: proves the benchmark runs end to end; the numbers mean nothing. */
  readonly quick: boolean
  /** Progress for the terminal (one line per call). */
  readonly log: (line: string) => void
}

/** One benchmark file: a subject measured against its own baseline. */
export interface BenchSubject {
  /** The name given on the command line and used in the results page's markers. */
  readonly name: string
  /** Runs the benchmark and returns its block of the results page (Markdown). */
  run(options: BenchOptions): Promise<string>
}

/** The parts of a subject's block on the results page. */
export interface Section {
  readonly title: string
  readonly machine: Machine
  /** How the numbers were obtained: tool, budget, statistic, baseline. */
  readonly method: string
  /** Tables and notes, in order. */
  readonly body: readonly string[]
}

/** A subject's block: its heading, the machine and method lines, then its tables and notes. */
export function renderSection(section: Section): string {
  return [`### ${section.title}`, `Measured ${formatMachine(section.machine)}. ${section.method}`, ...section.body].join('\n\n')
}
