import { readFile } from 'node:fs/promises'

/** One reading of a process's resident set size. */
export interface RssSample {
  /** Milliseconds since the start of the run. */
  readonly at: number
  /** Bytes. */
  readonly rss: number
}

/**
 * The `VmRSS` line of a `/proc/<pid>/status` file, in bytes (the kernel writes it in kB).
 * @throws RangeError when the text has no such line (not Linux, or a process that is gone).
 */
export function parseVmRss(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  if (match === null) throw new RangeError('no VmRSS line in /proc/<pid>/status')
  return Number(match[1]) * 1024
}

/** The resident set size of process `pid`, read from outside it (`/proc/<pid>/status`), in bytes. */
export async function readRss(pid: number): Promise<number> {
  return parseVmRss(await readFile(`/proc/${pid}/status`, 'utf8'))
}

/**
 * Reads the RSS of `pid` every `intervalMs` until stopped. `at` counts from `origin` (a
 * `performance.now()` value). A read that fails (the process is gone) ends the sampling.
 */
export function sampleRss(pid: number, intervalMs: number, origin: number): { latest(): RssSample | undefined; stop(): Promise<RssSample[]> } {
  const samples: RssSample[] = []
  let reading: Promise<void> = Promise.resolve()
  let failed = false
  const read = (): void => {
    if (failed) return
    const at = performance.now() - origin
    reading = readRss(pid).then(
      (rss) => {
        samples.push({ at, rss })
      },
      () => {
        failed = true
      },
    )
  }
  read()
  const timer = setInterval(read, intervalMs)
  return {
    latest: () => samples.at(-1),
    async stop(): Promise<RssSample[]> {
      clearInterval(timer)
      await reading
      return samples
    },
  }
}

/**
 * The least-squares slope of `rss` over `at`, in bytes per minute. NaN with fewer than two samples
 * or when every sample has the same time.
 */
export function slopePerMinute(samples: readonly RssSample[]): number {
  const n = samples.length
  if (n < 2) return Number.NaN
  let meanT = 0
  let meanR = 0
  for (const s of samples) {
    meanT += s.at / n
    meanR += s.rss / n
  }
  let cov = 0
  let varT = 0
  for (const s of samples) {
    cov += (s.at - meanT) * (s.rss - meanR)
    varT += (s.at - meanT) ** 2
  }
  return varT === 0 ? Number.NaN : (cov / varT) * 60_000
}
