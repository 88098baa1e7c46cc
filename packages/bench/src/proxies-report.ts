import { formatBytes, formatCount, formatDuration, formatRatio } from './format'
import { renderTable } from './markdown'
import type { ProxyKind, ProxyRun, SubjectResult, Workload } from './proxies-measure'
import { median, ratio } from './stats'

/** The median and range of a value over rounds. */
export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
}

/** Median and range of a list; NaN throughout for an empty list or one holding a value that is not finite. */
export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0 || !values.every(Number.isFinite)) return { median: Number.NaN, min: Number.NaN, max: Number.NaN }
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) }
}

/** Per-round ratios of `values` to `baseline` (same round, same index), as median and range. */
export function roundRatios(values: readonly number[], baseline: readonly number[]): Spread {
  return spreadOf(values.map((v, i) => ratio(v, baseline[i] ?? Number.NaN)))
}

/** The three figures of a run the report compares. */
export const METRICS = {
  rps: (r: ProxyRun): number => r.load.requestsPerSecond,
  p99: (r: ProxyRun): number => r.load.p99,
  perCpu: (r: ProxyRun): number => (r.cpuSeconds > 0 ? r.load.requests / r.cpuSeconds : Number.NaN),
} as const

function cell(s: Spread, format: (n: number) => string): string {
  if (!Number.isFinite(s.median)) return 'n/a'
  return s.min === s.max ? format(s.median) : `${format(s.median)} (${format(s.min)}–${format(s.max)})`
}

function ratioCell(s: Spread): string {
  if (!Number.isFinite(s.median)) return 'n/a'
  return s.min === s.max ? formatRatio(s.median) : `${formatRatio(s.median)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`
}

/** One workload's table: every subject with one worker, against the bare proxy and nginx. */
export function renderWorkload(results: readonly SubjectResult[], workload: Workload): string {
  const single = results.filter((r) => r.subject.workers === 1)
  const find = (kind: ProxyKind): readonly ProxyRun[] => single.find((r) => r.subject.kind === kind)?.runs[workload] ?? []
  const bare = find('bare')
  const nginx = find('nginx')
  const against = (runs: readonly ProxyRun[], base: readonly ProxyRun[], metric: (r: ProxyRun) => number): string =>
    base.length === 0 ? 'n/a' : ratioCell(roundRatios(runs.map(metric), base.map(metric)))
  return renderTable(
    [
      { header: 'proxy', align: 'left' },
      { header: 'req/s', align: 'right' },
      { header: '× bare', align: 'right' },
      { header: '× nginx', align: 'right' },
      { header: 'p99', align: 'right' },
      { header: '× bare', align: 'right' },
      { header: '× nginx', align: 'right' },
      { header: 'req per CPU-s', align: 'right' },
      { header: '× bare', align: 'right' },
      { header: '× nginx', align: 'right' },
      { header: 'RSS after', align: 'right' },
      { header: 'check', align: 'left' },
    ],
    single.map((r) => {
      const runs = r.runs[workload]
      const problems = runs.map((run) => run.problem).filter((p) => p !== undefined)
      return [
        r.subject.label,
        cell(spreadOf(runs.map(METRICS.rps)), formatCount),
        against(runs, bare, METRICS.rps),
        against(runs, nginx, METRICS.rps),
        cell(spreadOf(runs.map(METRICS.p99)), (ms) => formatDuration(ms * 1e6)),
        against(runs, bare, METRICS.p99),
        against(runs, nginx, METRICS.p99),
        cell(spreadOf(runs.map(METRICS.perCpu)), formatCount),
        against(runs, bare, METRICS.perCpu),
        against(runs, nginx, METRICS.perCpu),
        formatBytes(r.rssAfter),
        problems.length === 0 ? 'ok' : `FAILED: ${[...new Set(problems)].join('; ')}`,
      ]
    }),
  )
}

/** Scaling from one worker to more: for each subject run with more, its per-round ratio to its one-worker runs. */
export function renderScaling(results: readonly SubjectResult[], workloads: readonly Workload[]): string | undefined {
  const more = results.filter((r) => r.subject.workers > 1)
  if (more.length === 0) return undefined
  const rows = more.map((r) => {
    const one = results.find((o) => o.subject.kind === r.subject.kind && o.subject.workers === 1)
    const problems = workloads.flatMap((w) => r.runs[w].map((run) => run.problem)).filter((p) => p !== undefined)
    return [
      `${r.subject.label}, ${r.subject.workers} workers`,
      ...workloads.flatMap((w) => {
        const runs = r.runs[w]
        const base = one?.runs[w] ?? []
        return [
          cell(spreadOf(runs.map(METRICS.rps)), formatCount),
          ratioCell(roundRatios(runs.map(METRICS.rps), base.map(METRICS.rps))),
          ratioCell(roundRatios(runs.map(METRICS.perCpu), base.map(METRICS.perCpu))),
        ]
      }),
      problems.length === 0 ? 'ok' : `FAILED: ${[...new Set(problems)].join('; ')}`,
    ]
  })
  return renderTable(
    [
      { header: 'proxy', align: 'left' },
      ...workloads.flatMap((w) => [
        { header: `${w === 'hit' ? 'cookie hit' : 'new client'} req/s`, align: 'right' as const },
        { header: 'req/s × 1 worker', align: 'right' as const },
        { header: 'req per CPU-s × 1 worker', align: 'right' as const },
      ]),
      { header: 'check', align: 'left' },
    ],
    rows,
  )
}

/** The chart's numbers: median requests per CPU-second of every one-worker subject, per workload. */
export function chartOf(results: readonly SubjectResult[]): { categories: string[]; hit: number[]; fresh: number[] } {
  const single = results.filter((r) => r.subject.workers === 1)
  const medianOf = (runs: readonly ProxyRun[]): number => spreadOf(runs.map(METRICS.perCpu)).median
  return { categories: single.map((r) => r.subject.label), hit: single.map((r) => medianOf(r.runs.hit)), fresh: single.map((r) => medianOf(r.runs.new)) }
}

/**
 * Each proxy against the floor it adds its work to (sticky-node and sticky-fetch on Node against the bare
 * proxy, sticky-fastify against reply-from alone, sticky-fetch in workerd against the pass-through Worker):
 * per-round ratios of requests per CPU-second and p99 for each workload, and of RSS after the last round.
 * Undefined when no subject with a floor ran beside its floor.
 */
export function renderFloors(results: readonly SubjectResult[], workloads: readonly Workload[]): string | undefined {
  const single = results.filter((r) => r.subject.workers === 1)
  const pairs = single.flatMap((r) => {
    const floor = single.find((f) => r.subject.floor !== undefined && f.subject.kind === r.subject.floor)
    return floor === undefined ? [] : [{ r, floor }]
  })
  if (pairs.length === 0) return undefined
  return renderTable(
    [
      { header: 'proxy', align: 'left' },
      { header: 'against', align: 'left' },
      ...workloads.flatMap((w) => [
        { header: `${w === 'hit' ? 'cookie hit' : 'new client'} req per CPU-s`, align: 'right' as const },
        { header: 'p99', align: 'right' as const },
      ]),
      { header: 'RSS after', align: 'right' },
    ],
    pairs.map(({ r, floor }) => [
      r.subject.label,
      floor.subject.label,
      ...workloads.flatMap((w) => [
        ratioCell(roundRatios(r.runs[w].map(METRICS.perCpu), floor.runs[w].map(METRICS.perCpu))),
        ratioCell(roundRatios(r.runs[w].map(METRICS.p99), floor.runs[w].map(METRICS.p99))),
      ]),
      floor.rssAfter > 0 ? formatRatio(r.rssAfter / floor.rssAfter) : 'n/a',
    ]),
  )
}
