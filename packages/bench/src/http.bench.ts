import { createBalancer } from 'sticky-core'
import { SMALL_BODY } from './backend-protocol'
import { formatBytes, formatCount, formatDuration, formatRatio } from './format'
import { startChild, type Child } from './ipc'
import { load, type Load } from './load'
import { describeMachine } from './machine'
import { renderTable } from './markdown'
import type { PeakGrowth, ProxyMemory } from './proxy-process'
import { best, ratio } from './stats'
import { renderSection, type BenchOptions, type BenchSubject } from './subject'
import { download, probe, upload } from './transfer'

/** How hard and how long to push. */
export interface HttpBudget {
  readonly connections: number
  readonly seconds: number
  readonly warmupSeconds: number
  /** Size of each streamed body. */
  readonly bodyBytes: number
  /** Transfers per route and direction; the fastest counts. */
  readonly transfers: number
}

export const FULL_HTTP_BUDGET: HttpBudget = { connections: 50, seconds: 5, warmupSeconds: 1, bodyBytes: 100 * 2 ** 20, transfers: 3 }
export const QUICK_HTTP_BUDGET: HttpBudget = { connections: 8, seconds: 0.3, warmupSeconds: 0.1, bodyBytes: 2 ** 20, transfers: 1 }

/** Who answers the load generator. */
export type ProxyKind = 'sticky' | 'http-proxy'

/** A route under test: straight to the first backend, or through a proxy to all three. */
export interface HttpRoute {
  readonly label: string
  readonly proxy: ProxyKind | undefined
  /** Send the cookie that pins to the first backend. */
  readonly pinned: boolean
}

/** One route under closed-loop load. */
export interface RouteResult {
  readonly label: string
  readonly load: Load
  /** Requests each backend served during the measured run. */
  readonly spread: readonly number[]
  /** The proxy's memory when idle after start, and after the run (both after collections). */
  readonly memory: { readonly before: ProxyMemory; readonly after: ProxyMemory } | undefined
}

/** One route's streamed bodies. */
export interface TransferResult {
  readonly label: string
  readonly downloadMs: number
  readonly uploadMs: number
  /** The proxy's largest heap and RSS growth during any of its transfers. */
  readonly peak: PeakGrowth | undefined
}

/** Everything the HTTP benchmark measured. */
export interface HttpResults {
  /** The direct route, measured first and last: their mean is the baseline, their ratio the drift. */
  readonly direct: readonly [RouteResult, RouteResult]
  readonly proxied: readonly RouteResult[]
  readonly transfers: readonly TransferResult[]
}

const ROUTES: readonly HttpRoute[] = [
  { label: 'sticky-node, with cookie (hit)', proxy: 'sticky', pinned: true },
  { label: 'sticky-node, no cookie (new)', proxy: 'sticky', pinned: false },
  { label: 'http-proxy, round robin', proxy: 'http-proxy', pinned: false },
]
const DIRECT: HttpRoute = { label: 'node:http backend, direct', proxy: undefined, pinned: false }
/** Streams need no cookie: which backend serves a body does not change its cost. */
const TRANSFER_ROUTES: readonly HttpRoute[] = [
  DIRECT,
  { label: 'sticky-node', proxy: 'sticky', pinned: false },
  { label: 'http-proxy', proxy: 'http-proxy', pinned: false },
]

const BACKEND_ENTRY = new URL('./http-backend.ts', import.meta.url)
const PROXY_ENTRY = new URL('./proxy-process.ts', import.meta.url)

/**
 * Runs the whole HTTP benchmark: backends in one child process, each proxy in a fresh child of its
 * own, autocannon and the transfer client in this process. Throws when a route does not do what it is
 * labelled with (a pinned run that reaches another backend, failed requests, short bodies).
 */
export async function measureHttp(budget: HttpBudget, log: (line: string) => void): Promise<HttpResults> {
  const backends = await startChild(BACKEND_ENTRY)
  try {
    const { ports } = backends.ready as { ports: number[] }
    const balancer = createBalancer({ peers: ports.map((p) => `127.0.0.1:${p}`) })
    const pinCookie = `route=${balancer.cookieValue(balancer.peers[0]!)}`
    const context: RouteContext = { backends, ports, pinCookie, budget, log }
    const first = await measureRoute(context, DIRECT)
    const proxied: RouteResult[] = []
    for (const route of ROUTES) proxied.push(await measureRoute(context, route))
    const last = await measureRoute(context, DIRECT)
    const transfers: TransferResult[] = []
    for (const route of TRANSFER_ROUTES) transfers.push(await measureTransfers(context, route))
    return { direct: [first, last], proxied, transfers }
  } finally {
    await backends.close()
  }
}

interface RouteContext {
  readonly backends: Child
  readonly ports: readonly number[]
  readonly pinCookie: string
  readonly budget: HttpBudget
  readonly log: (line: string) => void
}

async function withRoute<T>(context: RouteContext, route: HttpRoute, body: (origin: string, proxy: Child | undefined) => Promise<T>): Promise<T> {
  if (route.proxy === undefined) return body(`http://127.0.0.1:${context.ports[0]!}`, undefined)
  const proxy = await startChild(PROXY_ENTRY, [route.proxy, JSON.stringify(context.ports)], ['--expose-gc'])
  try {
    return await body(`http://127.0.0.1:${(proxy.ready as { port: number }).port}`, proxy)
  } finally {
    await proxy.close()
  }
}

async function measureRoute(context: RouteContext, route: HttpRoute): Promise<RouteResult> {
  const { budget, backends } = context
  return withRoute(context, route, async (origin, proxy) => {
    const before = (await proxy?.request('memory')) as ProxyMemory | undefined
    const headers: Record<string, string> = route.pinned ? { cookie: context.pinCookie } : {}
    await checkRoute(context, route, origin)
    await load(`${origin}/`, budget.connections, budget.warmupSeconds, headers)
    await backends.request('counts')
    const result = await load(`${origin}/`, budget.connections, budget.seconds, headers)
    const spread = (await backends.request('counts')) as number[]
    const after = (await proxy?.request('memory')) as ProxyMemory | undefined
    context.log(`  ${route.label}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99.toFixed(2)} ms, spread ${spread.join('/')}`)
    checkSpread(route, result, spread)
    return { label: route.label, load: result, spread, memory: before === undefined || after === undefined ? undefined : { before, after } }
  })
}

/** One request before the load: the route answers, and a sticky proxy pins (or not) as labelled. */
async function checkRoute(context: RouteContext, route: HttpRoute, origin: string): Promise<void> {
  const answer = await probe(origin, route.pinned ? context.pinCookie : undefined)
  const pins = answer.setCookie.some((c) => c.startsWith('route='))
  const expectPin = route.proxy === 'sticky' && !route.pinned
  if (answer.status !== 200 || pins !== expectPin) {
    throw new Error(`${route.label}: status ${answer.status}, Set-Cookie ${JSON.stringify(answer.setCookie)}`)
  }
}

function checkSpread(route: HttpRoute, result: Load, spread: readonly number[]): void {
  const problem = spreadProblem(route, result, spread)
  if (problem !== undefined) throw new Error(`${route.label}: ${problem}`)
}

/**
 * Why a measured run does not show what its route is labelled with, or undefined when it does: no
 * failed request, and the backends' counts account for every completed request; a direct or pinned
 * run reached the first backend only; a round robin gave each backend at least 90 % of an even share.
 */
export function spreadProblem(route: HttpRoute, result: Load, spread: readonly number[]): string | undefined {
  const total = spread.reduce((a, b) => a + b, 0)
  if (result.failures > 0) return `${result.failures} failed requests`
  if (result.completed === 0) return 'no request completed'
  if (total < result.completed) return `backends saw ${total} requests, the client completed ${result.completed}`
  if (route.proxy === undefined || route.pinned) {
    return spread.slice(1).some((n) => n > 0) ? `requests reached unpinned backends: ${spread.join('/')}` : undefined
  }
  return spread.some((n) => n < (0.9 * total) / spread.length) ? `round robin is uneven: ${spread.join('/')}` : undefined
}

async function measureTransfers(context: RouteContext, route: HttpRoute): Promise<TransferResult> {
  const { bodyBytes, transfers } = context.budget
  return withRoute(context, route, async (origin, proxy) => {
    const downloads: number[] = []
    const uploads: number[] = []
    let peak: PeakGrowth | undefined
    const watched = async (transfer: () => Promise<number>): Promise<number> => {
      await proxy?.request('peak-start')
      const ms = await transfer()
      const growth = (await proxy?.request('peak-stop')) as PeakGrowth | undefined
      if (growth !== undefined) peak = { heap: Math.max(peak?.heap ?? 0, growth.heap), rss: Math.max(peak?.rss ?? 0, growth.rss) }
      return ms
    }
    for (let i = 0; i < transfers; i++) {
      downloads.push(await watched(() => download(origin, bodyBytes)))
      uploads.push(await watched(() => upload(origin, bodyBytes)))
    }
    const result = { label: route.label, downloadMs: best(downloads), uploadMs: best(uploads), peak }
    context.log(`  ${result.label}: download ${result.downloadMs.toFixed(0)} ms, upload ${result.uploadMs.toFixed(0)} ms`)
    return result
  })
}

function mebibytesPerSecond(bytes: number, ms: number): number {
  return bytes / 2 ** 20 / (ms / 1000)
}

/** The results page block for {@link measureHttp}'s results. */
export function renderHttp(results: HttpResults, budget: HttpBudget): string[] {
  const [first, last] = results.direct
  const baseRate = (first.load.requestsPerSecond + last.load.requestsPerSecond) / 2
  const baseP99 = (first.load.p99 + last.load.p99) / 2
  const memory = (m: RouteResult['memory'], key: keyof ProxyMemory): string =>
    m === undefined ? '' : `${formatBytes(m.before[key])} → ${formatBytes(m.after[key])}`
  const rows = [
    [`${DIRECT.label} (baseline, mean of 2 runs)`, formatCount(baseRate), '1.00×', formatDuration(baseP99 * 1e6), '1.00×', String(first.load.failures + last.load.failures), '', ''],
    ...results.proxied.map((r) => [
      r.label,
      formatCount(r.load.requestsPerSecond),
      formatRatio(ratio(r.load.requestsPerSecond, baseRate)),
      formatDuration(r.load.p99 * 1e6),
      formatRatio(ratio(r.load.p99, baseP99)),
      String(r.load.failures),
      memory(r.memory, 'rss'),
      memory(r.memory, 'heapUsed'),
    ]),
  ]
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
    rows,
  )
  const spread = results.proxied.map((r) => `${r.label}: ${r.spread.map(formatCount).join(' / ')}`).join('; ')
  const notes = `Drift: the second direct run did ${formatRatio(ratio(last.load.requestsPerSecond, first.load.requestsPerSecond))} the requests of the first. ` +
    `Requests per backend during each run (checked by the benchmark: a pinned run must reach one backend, round robin all three evenly): ${spread}.`
  const direct = results.transfers.find((t) => t.label === DIRECT.label)
  const bytes = budget.bodyBytes
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
    results.transfers.map((t) => {
      const down = mebibytesPerSecond(bytes, t.downloadMs)
      const up = mebibytesPerSecond(bytes, t.uploadMs)
      return [
        t === direct ? `${t.label} (baseline)` : t.label,
        down.toFixed(0),
        formatRatio(ratio(down, direct === undefined ? Number.NaN : mebibytesPerSecond(bytes, direct.downloadMs))),
        up.toFixed(0),
        formatRatio(ratio(up, direct === undefined ? Number.NaN : mebibytesPerSecond(bytes, direct.uploadMs))),
        t.peak === undefined ? '' : formatBytes(t.peak.heap, true),
        t.peak === undefined ? '' : formatBytes(t.peak.rss, true),
      ]
    }),
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
        `${budget.seconds} s per route after a ${budget.warmupSeconds} s warm-up, all on 127.0.0.1. The load generator, the proxy and the ` +
        `three backends run in three processes sharing ${machine.cores} cores, so a proxy also takes CPU from the backends and the ` +
        'load generator: the ratios measure the whole chain. Baseline: the backends hit directly. Proxies use keep-alive upstream ' +
        'connections and add `X-Forwarded-*`; memory is after two forced collections. Streams: one body at a time, best of ' +
        `${budget.transfers}, peak growth sampled every 5 ms in the proxy over its idle heap.`,
      body: renderHttp(results, budget),
    })
  },
}
