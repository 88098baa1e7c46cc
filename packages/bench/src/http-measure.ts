import { createBalancer } from 'sticky-core'
import { startChild, type Child } from './ipc'
import { load, type Load } from './load'
import type { PeakGrowth, ProxyMemory } from './proxy-process'
import { download, probe, upload } from './transfer'

/** How hard and how long to push. */
export interface HttpBudget {
  readonly connections: number
  /** Interleaved rounds: every route once per round, so that drift on a busy machine hits all alike. */
  readonly rounds: number
  /** Load per route and round. */
  readonly seconds: number
  /** Load per route before the first round, not measured (JIT, connection pools). */
  readonly warmupSeconds: number
  /** Size of each streamed body. */
  readonly bodyBytes: number
  /** Interleaved transfers per route and direction. */
  readonly transfers: number
}

/** About 45 s: 6 s of measured load per route. */
export const FULL_HTTP_BUDGET: HttpBudget = { connections: 50, rounds: 3, seconds: 2, warmupSeconds: 1, bodyBytes: 100 * 2 ** 20, transfers: 3 }
/** For `--quick`: proves the benchmark runs; the numbers mean nothing. */
export const QUICK_HTTP_BUDGET: HttpBudget = { connections: 8, rounds: 1, seconds: 0.3, warmupSeconds: 0.1, bodyBytes: 2 ** 20, transfers: 1 }

/** Who answers the load generator. */
export type ProxyKind = 'sticky' | 'http-proxy'

/** A route under test: straight to the first backend, or through a proxy to all three. */
export interface HttpRoute {
  readonly label: string
  readonly proxy: ProxyKind | undefined
  /** Send the cookie that pins to the first backend. */
  readonly pinned: boolean
}

/** The baseline: the first backend, hit directly. */
export const DIRECT: HttpRoute = { label: 'node:http backend, direct', proxy: undefined, pinned: false }

/** The baseline first, then the proxies. Unpinned routes also carry the streamed bodies. */
export const ROUTES: readonly HttpRoute[] = [
  DIRECT,
  { label: 'sticky-node, with cookie (hit)', proxy: 'sticky', pinned: true },
  { label: 'sticky-node, no cookie (new)', proxy: 'sticky', pinned: false },
  { label: 'http-proxy, round robin', proxy: 'http-proxy', pinned: false },
]

/** One route under closed-loop load. */
export interface RouteResult {
  readonly route: HttpRoute
  /** One run per round, in round order. */
  readonly rounds: readonly Load[]
  /** Requests each backend served during each round. */
  readonly spreads: readonly (readonly number[])[]
  /** The proxy's memory when idle after start, and after the last round (both after collections). */
  readonly memory: { readonly before: ProxyMemory; readonly after: ProxyMemory } | undefined
}

/** One route's streamed bodies. */
export interface TransferResult {
  readonly route: HttpRoute
  /** Milliseconds per transfer, in round order. */
  readonly downloadMs: readonly number[]
  readonly uploadMs: readonly number[]
  /** The proxy's largest heap and RSS growth during any of its transfers. */
  readonly peak: PeakGrowth | undefined
}

/** Everything the HTTP benchmark measured, routes in {@link ROUTES} order. */
export interface HttpResults {
  readonly routes: readonly RouteResult[]
  readonly transfers: readonly TransferResult[]
}

const SETTLE_INTERVAL_MS = 25
const SETTLE_ATTEMPTS = 200

const BACKEND_ENTRY = new URL('./http-backend.ts', import.meta.url)
const PROXY_ENTRY = new URL('./proxy-process.ts', import.meta.url)

interface RunningRoute {
  readonly route: HttpRoute
  readonly origin: string
  readonly proxy: Child | undefined
}

/**
 * Runs the HTTP benchmark: backends in one child process, each proxied route's proxy in a child of
 * its own, autocannon and the transfer client in this process. Throws when a route does not do what
 * it is labelled with (a pinned run that reaches another backend, failed requests, short bodies).
 */
export async function measureHttp(budget: HttpBudget, log: (line: string) => void): Promise<HttpResults> {
  const backends = await startChild(BACKEND_ENTRY)
  const running: RunningRoute[] = []
  try {
    const { ports } = backends.ready as { ports: number[] }
    const balancer = createBalancer({ peers: ports.map((p) => `127.0.0.1:${p}`) })
    const pinCookie = `route=${balancer.cookieValue(balancer.peers[0]!)}`
    for (const route of ROUTES) {
      if (route.proxy === undefined) {
        running.push({ route, origin: `http://127.0.0.1:${ports[0]!}`, proxy: undefined })
        continue
      }
      const proxy = await startChild(PROXY_ENTRY, [route.proxy, JSON.stringify(ports)], ['--expose-gc'])
      running.push({ route, origin: `http://127.0.0.1:${(proxy.ready as { port: number }).port}`, proxy })
    }
    const headersOf = (route: HttpRoute): Record<string, string> => (route.pinned ? { cookie: pinCookie } : {})

    const before = new Map<HttpRoute, ProxyMemory>()
    for (const { route, origin, proxy } of running) {
      if (proxy !== undefined) before.set(route, (await proxy.request('memory')) as ProxyMemory)
      await checkRoute(route, origin, pinCookie)
      await load(`${origin}/`, budget.connections, budget.warmupSeconds, headersOf(route))
      await settle(backends)
    }

    const rounds = new Map<HttpRoute, { loads: Load[]; spreads: number[][] }>(running.map((r) => [r.route, { loads: [], spreads: [] }]))
    for (let round = 0; round < budget.rounds; round++) {
      for (const { route, origin } of running) {
        const result = await load(`${origin}/`, budget.connections, budget.seconds, headersOf(route))
        const spread = await settle(backends)
        log(
          `  round ${round + 1}/${budget.rounds}  ${route.label}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99.toFixed(2)} ms, spread ${spread.join('/')}`,
        )
        const problem = spreadProblem(route, result, spread)
        if (problem !== undefined) throw new Error(`${route.label}: ${problem}`)
        rounds.get(route)!.loads.push(result)
        rounds.get(route)!.spreads.push(spread)
      }
    }

    const routes: RouteResult[] = []
    for (const { route, proxy } of running) {
      const after = (await proxy?.request('memory')) as ProxyMemory | undefined
      const idle = before.get(route)
      const { loads, spreads } = rounds.get(route)!
      routes.push({ route, rounds: loads, spreads, memory: idle === undefined || after === undefined ? undefined : { before: idle, after } })
    }
    return {
      routes,
      transfers: await measureTransfers(
        running.filter((r) => !r.route.pinned),
        budget,
        log,
      ),
    }
  } finally {
    for (const { proxy } of running) await proxy?.close()
    await backends.close()
  }
}

/**
 * Requests per backend since the last call, once the backends are quiet: when the load generator
 * stops, a proxy still finishes the requests it had forwarded, and they belong to the run that sent
 * them, not to the next one.
 */
async function settle(backends: Child): Promise<number[]> {
  let total: number[] | undefined
  for (let attempt = 0; attempt < SETTLE_ATTEMPTS; attempt++) {
    const counts = (await backends.request('counts')) as number[]
    total = total === undefined ? counts : total.map((n, i) => n + (counts[i] ?? 0))
    if (attempt > 0 && counts.every((n) => n === 0)) return total
    await new Promise((resolve) => setTimeout(resolve, SETTLE_INTERVAL_MS))
  }
  throw new Error(`the backends were still busy ${SETTLE_ATTEMPTS * SETTLE_INTERVAL_MS} ms after the load stopped`)
}

/** One request before the load: the route answers, and a sticky proxy pins (or not) as labelled. */
async function checkRoute(route: HttpRoute, origin: string, pinCookie: string): Promise<void> {
  const answer = await probe(origin, route.pinned ? pinCookie : undefined)
  const pins = answer.setCookie.some((c) => c.startsWith('route='))
  const expectPin = route.proxy === 'sticky' && !route.pinned
  if (answer.status !== 200 || pins !== expectPin) {
    throw new Error(`${route.label}: status ${answer.status}, Set-Cookie ${JSON.stringify(answer.setCookie)}`)
  }
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
  // The fair share rounded down: 17 requests over 3 backends are as even as they can be at 6/6/5.
  const floor = Math.floor((0.9 * total) / spread.length)
  return spread.some((n) => n < floor) ? `round robin is uneven: ${spread.join('/')}` : undefined
}

async function measureTransfers(running: readonly RunningRoute[], budget: HttpBudget, log: (line: string) => void): Promise<TransferResult[]> {
  const results = running.map((r) => ({ route: r.route, downloadMs: [] as number[], uploadMs: [] as number[], peak: undefined as PeakGrowth | undefined }))
  for (let round = 0; round < budget.transfers; round++) {
    for (const [i, { origin, proxy }] of running.entries()) {
      const result = results[i]!
      const watched = async (transfer: () => Promise<number>): Promise<number> => {
        await proxy?.request('peak-start')
        const ms = await transfer()
        const growth = (await proxy?.request('peak-stop')) as PeakGrowth | undefined
        if (growth !== undefined) result.peak = { heap: Math.max(result.peak?.heap ?? 0, growth.heap), rss: Math.max(result.peak?.rss ?? 0, growth.rss) }
        return ms
      }
      result.downloadMs.push(await watched(() => download(origin, budget.bodyBytes)))
      result.uploadMs.push(await watched(() => upload(origin, budget.bodyBytes)))
      log(
        `  round ${round + 1}/${budget.transfers}  ${result.route.label}: download ${result.downloadMs.at(-1)!.toFixed(0)} ms, upload ${result.uploadMs.at(-1)!.toFixed(0)} ms`,
      )
    }
  }
  return results
}
