import { availableParallelism, cpus, loadavg, platform, arch, totalmem } from 'node:os'

/** Where a result was measured: recorded beside every table, since ratios hold only per machine. */
export interface Machine {
  readonly cores: number
  readonly cpu: string
  readonly node: string
  readonly os: string
  readonly memory: number
  /** One-minute load average when the subject started: other work on the machine skews results. */
  readonly load: number
  readonly date: string
}

/** The machine this process runs on, now. */
export function describeMachine(): Machine {
  const model = cpus()[0]?.model.replace(/\s+/g, ' ').trim()
  return {
    cores: availableParallelism(),
    cpu: model === undefined || model === '' ? 'unknown CPU' : model,
    node: process.version,
    os: `${platform()} ${arch()}`,
    memory: totalmem(),
    load: loadavg()[0] ?? Number.NaN,
    date: new Date().toISOString().slice(0, 10),
  }
}

/** One line for the results page, e.g. `2025-01-01, 2 cores (Xeon ...), linux x64, 8 GiB, Node v20.20.2, load 0.4`. */
export function formatMachine(machine: Machine): string {
  const gib = Math.round(machine.memory / 2 ** 30)
  const load = Number.isFinite(machine.load) ? `, load average ${machine.load.toFixed(2)} at start` : ''
  return `${machine.date}, ${machine.cores} cores (${machine.cpu}), ${machine.os}, ${gib} GiB, Node ${machine.node}${load}`
}
