import { SMALL_BODY } from './backend-protocol'
import { formatBytes, formatCount, formatDuration, formatPlural, formatRatio } from './format'
import { FULL_HTTP_BUDGET, measureHttp, QUICK_HTTP_BUDGET, type HttpBudget, type HttpResults, type RouteResult } from './http-measure'
import type { Load } from './load'
import { describeMachine } from './machine'
import { renderTable } from './markdown'
import type { ProxyMemory } from './proxy-process'
import { median, ratio } from './stats'
import { renderSection, type BenchOptions, type BenchSubject } from './subject'

/** The median over rounds of a route's value divided by the baseline's value in the same round. */
function roundRatio(values: readonly number[], baseline: readonly number[]): number {
  return median(values.map((v, i) => ratio(v, baseline[i] ?? Number.NaN)))
}

function mebibytesPerSecond(bytes: number, ms: number): number {
  return bytes / 2 ** 20 / (ms / 1000)
}

/**
 * The tables and notes of the http block: requests per second and p99 per route, then streamed bodies.
 * Absolute values are medians over rounds; each ratio is the median of the per-round ratios to the
 * direct route, so a slow round on a busy machine shifts a route and its baseline together.
 */
export function renderHttp(results: HttpResults, budget: HttpBudget): string[] {
  const [direct, ...proxied] = results.routes
  if (direct === undefined || direct.route.proxy !== undefined) throw new Error('the direct route must come first')
  const rates = (r: RouteResult): number[] => r.rounds.map((l: Load) => l.requestsPerSecond)
  const p99s = (r: RouteResult): number[] => r.rounds.map((l: Load) => l.p99)
  const failures = (r: RouteResult): number => r.rounds.reduce((sum, l) => sum + l.failures, 0)
  const memory = (m: RouteResult['memory'], key: keyof ProxyMemory): string =>
    m === undefined ? '' : `${formatBytes(m.before[key])} → ${formatBytes(m.after[key])}`
  const requests = renderTable(
    [
      { header: 'route', align: 'left' },
      { header: 'req/s', align: 'right' },
      { header: '× direct', align: 'right' },
      { header: 'p99 latency', align: 'right' },
      { header: '× direct', align: 'right' },
      { header: 'failed', align: 'right' },
      { header: 'proxy RSS idle → after', align: 'right' },
      { header: 'proxy heap idle → after', align: 'right' },
    ],
    [direct, ...proxied].map((r) => [
      r === direct ? `${r.route.label} (baseline)` : r.route.label,
      formatCount(median(rates(r))),
      formatRatio(roundRatio(rates(r), rates(direct))),
      formatDuration(median(p99s(r)) * 1e6),
      formatRatio(roundRatio(p99s(r), p99s(direct))),
      String(failures(r)),
      memory(r.memory, 'rss'),
      memory(r.memory, 'heapUsed'),
    ]),
  )
  const directRates = rates(direct)
  const spread = proxied.map((r) => `${r.route.label}: ${r.spreads.map((s) => s.map(formatCount).join(' / ')).join(', ')}`).join('; ')
  const notes =
    `Drift: the direct route's fastest round did ${formatRatio(ratio(Math.max(...directRates), Math.min(...directRates)))} ` +
    `the requests of its slowest. Requests per backend in each round (checked by the benchmark: a pinned run must reach one ` +
    `backend, round robin all three evenly): ${spread}.`

  const bytes = budget.bodyBytes
  const [directTransfer] = results.transfers
  if (directTransfer === undefined || directTransfer.route.proxy !== undefined) throw new Error('the direct transfer must come first')
  const rate = (ms: readonly number[]): number[] => ms.map((m) => mebibytesPerSecond(bytes, m))
  const transfers = renderTable(
    [
      { header: `${formatBytes(bytes)} body via`, align: 'left' },
      { header: 'download MiB/s', align: 'right' },
      { header: '× direct', align: 'right' },
      { header: 'upload MiB/s', align: 'right' },
      { header: '× direct', align: 'right' },
      { header: 'proxy peak heap growth', align: 'right' },
      { header: 'proxy peak RSS growth', align: 'right' },
    ],
    results.transfers.map((t) => [
      t === directTransfer ? `${t.route.label} (baseline)` : t.route.label,
      median(rate(t.downloadMs)).toFixed(0),
      formatRatio(roundRatio(rate(t.downloadMs), rate(directTransfer.downloadMs))),
      median(rate(t.uploadMs)).toFixed(0),
      formatRatio(roundRatio(rate(t.uploadMs), rate(directTransfer.uploadMs))),
      t.peak === undefined ? '' : formatBytes(t.peak.heap, true),
      t.peak === undefined ? '' : formatBytes(t.peak.rss, true),
    ]),
  )
  return [requests, notes, transfers]
}

/** `node:http` direct, through sticky-node and through http-proxy: requests per second, p99, streamed bodies. */
export const httpBench: BenchSubject = {
  name: 'http',
  async run(options: BenchOptions): Promise<string> {
    const machine = describeMachine()
    const budget = options.quick ? QUICK_HTTP_BUDGET : FULL_HTTP_BUDGET
    const results = await measureHttp(budget, options.log)
    return renderSection({
      title: 'http',
      machine,
      method:
        `autocannon, ${budget.connections} keep-alive connections, \`GET /\` (a ${SMALL_BODY.length}-byte body), ` +
        `${formatPlural(budget.rounds, 'interleaved round')} of ${budget.seconds} s per route after a ${budget.warmupSeconds} s warm-up, all on ` +
        `127.0.0.1. The load generator, each proxy and the three backends run in separate processes sharing ${machine.cores} cores, ` +
        'so a proxy also takes CPU from the backends and the load generator: the ratios measure the whole chain. Baseline: the ' +
        'first backend hit directly. Values are medians over rounds; ratios are medians of per-round ratios. Proxies use ' +
        'keep-alive upstream connections and add `X-Forwarded-*`; their memory is read after two forced collections. ' +
        `Streams: one body at a time, ${formatPlural(budget.transfers, 'interleaved round')}, peak growth sampled every 5 ms in the proxy over ` +
        'its collected heap.',
      body: renderHttp(results, budget),
    })
  },
}
