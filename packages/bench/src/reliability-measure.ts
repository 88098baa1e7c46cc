// The reliability bench's measurements. Each part starts its own backends (one process each, so that one
// can be killed) and its own sticky-node proxy process(es) (proxy-process.ts, `sticky-observed`: default
// options plus an onResponse tally), and drives them from this process with a fleet of browsers.
import { setTimeout as sleep } from 'node:timers/promises'
import { createBalancer } from 'sticky-core'
import { startChild, type Child } from './ipc'
import type { Observed, ProxyMemory } from './proxy-process'
import { analyzeLoad, analyzePair, analyzeSoak, type FaultTimes, type LoadAnalysis, type PairAnalysis, type SoakAnalysis } from './reliability-analysis'
import type { ReliabilityBudget } from './reliability-args'
import { startFleet, type Fleet, type FleetPlan, type FleetResult } from './reliability-fleet'
import { sampleRss, type RssSample } from './rss'

const BACKEND_ENTRY = new URL('./reliability-backend.ts', import.meta.url)
const PROXY_ENTRY = new URL('./proxy-process.ts', import.meta.url)

/** Backends behind each proxy. */
export const BACKENDS = 3
/** The backend killed in the load with a fault (the middle one of the peer list). */
export const KILLED_BACKEND = 1
/** The proxy's default cookie name. */
const COOKIE = 'route'
/** A request with no socket activity for this long is counted as failed (`timeout`). */
export const REQUEST_TIMEOUT_MS = 10_000
/** Restarting the killed backend: processes started at most, and the pause between two, if its port is briefly taken. */
const RESTART_TRIES = 50
const RESTART_PAUSE_MS = 100
/** After the last response, before reading the proxy's tallies: onResponse runs once the exchange is over. */
const SETTLE_MS = 300

/** The load with a fault, as measured. */
export interface LoadResult {
  readonly budget: ReliabilityBudget
  readonly peers: readonly string[]
  readonly fleet: FleetResult
  readonly fault: FaultTimes
  /** What the proxy's onResponse saw; `at` values are `Date.now()`. */
  readonly proxy: Observed
  readonly analysis: LoadAnalysis
}

/** The soak, as measured. */
export interface SoakResult {
  readonly budget: ReliabilityBudget
  readonly fleet: FleetResult
  /** The proxy's RSS, read from /proc/<pid>/status; `at` counts from the fleet's start. */
  readonly samples: readonly RssSample[]
  /** The proxy's memory after two collections, idle before the load and after it. */
  readonly idle: ProxyMemory
  readonly after: ProxyMemory
  readonly proxy: Observed
  readonly analysis: SoakAnalysis
}

/** The run through two proxies, as measured. */
export interface PairResult {
  readonly budget: ReliabilityBudget
  readonly fleet: FleetResult
  readonly proxies: readonly Observed[]
  readonly analysis: PairAnalysis
}

interface Backends {
  readonly children: Child[]
  readonly ports: readonly number[]
  readonly peers: readonly string[]
  /** Cookie value → backend index, as the proxies compute it (same peers, same default hash). */
  readonly backendOfCookie: ReadonlyMap<string, number>
  close(): Promise<void>
}

async function startBackends(): Promise<Backends> {
  const children = await Promise.all(Array.from({ length: BACKENDS }, (_, i) => startChild(BACKEND_ENTRY, [String(i), '0'])))
  const ports = children.map((c) => (c.ready as { port: number }).port)
  const peers = ports.map((p) => `127.0.0.1:${p}`)
  const balancer = createBalancer({ peers })
  return {
    children,
    ports,
    peers,
    backendOfCookie: new Map(balancer.peers.map((peer, i) => [balancer.cookieValue(peer), i])),
    close: async () => {
      await Promise.all(children.map((c) => c.close()))
    },
  }
}

function startProxy(ports: readonly number[]): Promise<Child> {
  return startChild(PROXY_ENTRY, ['sticky-observed', JSON.stringify(ports)], ['--expose-gc'])
}

function originOf(proxy: Child): string {
  return `http://127.0.0.1:${(proxy.ready as { port: number }).port}`
}

function planFor(
  backends: Backends,
  origins: readonly string[],
  budget: ReliabilityBudget,
  durationMs: number,
  sessionRequests: number,
  alternate: boolean,
): FleetPlan {
  const { backendOfCookie } = backends
  return { origins, clients: budget.clients, durationMs, sessionRequests, alternate, cookieName: COOKIE, backendOfCookie, requestTimeoutMs: REQUEST_TIMEOUT_MS }
}

/** Logs the fleet's rate every `everyMs` until stopped; `extra` adds to each line. */
function reportProgress(label: string, fleet: Fleet, everyMs: number, log: (line: string) => void, extra: () => string = () => ''): () => void {
  let last = { completed: 0, at: performance.now() }
  const timer = setInterval(() => {
    const now = performance.now()
    const { completed, failed } = fleet.progress()
    const rate = (completed - last.completed) / ((now - last.at) / 1000)
    log(`  ${label} ${((Date.now() - fleet.startedAt) / 1000).toFixed(0)} s: ${rate.toFixed(0)} req/s, ${failed} failed${extra()}`)
    last = { completed, at: now }
  }, everyMs)
  return () => clearInterval(timer)
}

function progressInterval(durationMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.round(durationMs / 10)))
}

/**
 * Load with a fault: `budget.clients` keep-alive browsers through one proxy to three backends for
 * `budget.loadMs`; at the middle the backend {@link KILLED_BACKEND} is killed with SIGKILL and, after
 * `budget.downMs`, started again on the same port.
 */
export async function measureLoad(budget: ReliabilityBudget, log: (line: string) => void): Promise<LoadResult> {
  const backends = await startBackends()
  let proxy: Child | undefined
  try {
    proxy = await startProxy(backends.ports)
    const fleet = startFleet(planFor(backends, [originOf(proxy)], budget, budget.loadMs, Number.POSITIVE_INFINITY, false))
    const stopProgress = reportProgress('load', fleet, progressInterval(budget.loadMs), log)
    const since = (): number => performance.now() - fleet.origin
    let fault: FaultTimes
    try {
      await sleep(Math.max(0, budget.loadMs / 2 - since()))
      const killedAt = since()
      await backends.children[KILLED_BACKEND]!.kill()
      log(`  killed backend ${KILLED_BACKEND} (SIGKILL) at ${(killedAt / 1000).toFixed(2)} s`)
      await sleep(Math.max(0, killedAt + budget.downMs - since()))
      const restartedAt = since()
      const { child, tries } = await restartBackend(backends.ports[KILLED_BACKEND]!)
      backends.children[KILLED_BACKEND] = child
      const listeningAt = since()
      const retried = tries > 1 ? ` (${tries} tries)` : ''
      log(`  backend ${KILLED_BACKEND} started again at ${(restartedAt / 1000).toFixed(2)} s, listening at ${(listeningAt / 1000).toFixed(2)} s${retried}`)
      fault = { backend: KILLED_BACKEND, killedAt, restartedAt, listeningAt, restartTries: tries }
    } finally {
      // Whatever happened to the fault, let the clients finish before anything is torn down.
      await fleet.done.catch(() => undefined)
      stopProgress()
    }
    const result = await fleet.done
    await sleep(SETTLE_MS)
    const observed = (await proxy.request('observed')) as Observed
    return { budget, peers: backends.peers, fleet: result, fault, proxy: observed, analysis: analyzeLoad(result, fault, BACKENDS) }
  } finally {
    await proxy?.close()
    await backends.close()
  }
}

/** Starts backend {@link KILLED_BACKEND} on `port` again, retrying while the port is briefly taken. */
async function restartBackend(port: number): Promise<{ child: Child; tries: number }> {
  for (let tries = 1; ; tries++) {
    try {
      return { child: await startChild(BACKEND_ENTRY, [String(KILLED_BACKEND), String(port)]), tries }
    } catch (error) {
      if (tries >= RESTART_TRIES)
        throw new Error(`backend ${KILLED_BACKEND} could not listen on port ${port} again after ${tries} tries: ${(error as Error).message}`)
      await sleep(RESTART_PAUSE_MS)
    }
  }
}

/**
 * The soak: steady load through one proxy for `budget.soakMs`, browsers coming and going every
 * `budget.soakSessionRequests` requests, the proxy's RSS read from /proc every `budget.rssSampleMs`.
 */
export async function measureSoak(budget: ReliabilityBudget, log: (line: string) => void): Promise<SoakResult> {
  const backends = await startBackends()
  let proxy: Child | undefined
  try {
    proxy = await startProxy(backends.ports)
    const idle = (await proxy.request('memory')) as ProxyMemory
    const fleet = startFleet(planFor(backends, [originOf(proxy)], budget, budget.soakMs, budget.soakSessionRequests, false))
    const sampler = sampleRss(proxy.pid, budget.rssSampleMs, fleet.origin)
    const stopProgress = reportProgress('soak', fleet, progressInterval(budget.soakMs), log, () => {
      const latest = sampler.latest()
      return latest === undefined ? '' : `, proxy RSS ${(latest.rss / 2 ** 20).toFixed(1)} MiB`
    })
    let result: FleetResult
    let samples: RssSample[]
    try {
      result = await fleet.done
    } finally {
      stopProgress()
      samples = await sampler.stop()
    }
    await sleep(SETTLE_MS)
    const observed = (await proxy.request('observed')) as Observed
    const after = (await proxy.request('memory')) as ProxyMemory
    return { budget, fleet: result, samples, idle, after, proxy: observed, analysis: analyzeSoak(result, samples, budget.warmupMs) }
  } finally {
    await proxy?.close()
    await backends.close()
  }
}

/**
 * Two proxy processes built from the same options in front of the same backends; every browser
 * alternates its requests between them (half start with each), new browsers every
 * `budget.pairSessionRequests` requests, for `budget.pairMs`.
 */
export async function measurePair(budget: ReliabilityBudget, log: (line: string) => void): Promise<PairResult> {
  const backends = await startBackends()
  const proxies: Child[] = []
  try {
    proxies.push(await startProxy(backends.ports), await startProxy(backends.ports))
    const fleet = startFleet(planFor(backends, proxies.map(originOf), budget, budget.pairMs, budget.pairSessionRequests, true))
    const stopProgress = reportProgress('pair', fleet, progressInterval(budget.pairMs), log)
    let result: FleetResult
    try {
      result = await fleet.done
    } finally {
      stopProgress()
    }
    await sleep(SETTLE_MS)
    const observed = (await Promise.all(proxies.map((p) => p.request('observed')))) as Observed[]
    return { budget, fleet: result, proxies: observed, analysis: analyzePair(result) }
  } finally {
    for (const p of proxies) await p.close()
    await backends.close()
  }
}
