import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import type { ExchangeEvent } from 'sticky-core'
import { lazyRequire } from './lazy-require'

const promClient = lazyRequire<typeof import('prom-client')>('prom-client')

/** What the metrics need of one upstream attempt (the library's `onAttempt` event). */
export interface AttemptFacts {
  readonly peer: { readonly id: string }
  /** sticky-core's `AttemptEvent`: `peer-answered`, `connect-failed`, ... */
  readonly kind: string
  /** True when the attempt was a retry (on another peer, or a resend on the same). */
  readonly retry: boolean
  /** True when the attempt counted a failure against the peer. */
  readonly blame: boolean
  /** Attempt start to response head or failure. */
  readonly durationMs: number
  /**
   * A second record of an attempt already counted: its response was cut after the head. Only its
   * failure counts (the attempt and its latency were counted at the head).
   */
  readonly afterHead: boolean
}

/** The metrics' view of the library's `onAttempt` record: one mapping, used by the command and its tests. */
export function attemptFacts(record: {
  readonly peer: { readonly id: string }
  readonly event: string
  readonly retry: boolean
  readonly resend: boolean
  readonly afterHead: boolean
  readonly durationMs: number
  readonly verdict: { readonly blame: boolean }
}): AttemptFacts {
  return {
    peer: record.peer,
    kind: record.event,
    retry: record.retry || record.resend,
    blame: record.verdict.blame,
    durationMs: record.durationMs,
    afterHead: record.afterHead,
  }
}

/**
 * The Prometheus metrics of `sticky-proxy --metrics`, fed only by the library's hooks (`onResponse`,
 * `onAttempt`, `onHealthChange`): the same events a library user gets. Every series has a `route`
 * label, the path prefix of the upstream group.
 */
export interface ProxyMetrics {
  readonly registry: Registry
  /** A request reached the runner (in flight until {@link ProxyMetrics.requestEnded}). */
  requestStarted(): void
  requestEnded(): void
  /** A request finished: the library's `onResponse` event, or the runner's own 404 (route, peer and outcome `-`). */
  response(route: string, event: FinishedRequest): void
  attempt(route: string, attempt: AttemptFacts): void
}

/** What the request counter needs of a finished request. */
export interface FinishedRequest {
  readonly peer: { readonly id: string } | null
  /** sticky-core's `Outcome`, or `-` for a request no route took. */
  readonly outcome: ExchangeEvent['outcome'] | '-'
  readonly status: number
}

/** One peer as this process sees it now, read at each scrape (so removed peers simply vanish). */
export interface PeerReading {
  readonly route: string
  readonly peer: string
  /** `balancer.isUsable(peer)`. */
  readonly usable: boolean
  /** `proxy.inFlight(peer)`: exchanges with the peer in progress. */
  readonly inFlight: number
}

/** `2xx`, `4xx`, ... (`1xx` for a completed upgrade). */
export function statusClass(status: number): string {
  return status >= 100 && status <= 599 ? `${Math.floor(status / 100)}xx` : 'other'
}

/** Creates the metrics in a registry of their own, with the default process metrics beside them. */
export function createProxyMetrics(readPeers: () => readonly PeerReading[]): ProxyMetrics {
  const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = promClient()
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const requests = new Counter({
    name: 'sticky_requests_total',
    help: 'Requests (and upgrades) completed, by route, peer, balancer outcome and status class.',
    labelNames: ['route', 'peer', 'outcome', 'status_class'] as const,
    registers,
  })
  const inFlight = new Gauge({
    name: 'sticky_requests_in_flight',
    help: 'Requests being served by this process.',
    registers,
  })
  const attempts = new Counter({
    name: 'sticky_upstream_attempts_total',
    help: 'Upstream attempts, by route, peer and how the attempt ended (sticky-core AttemptEvent).',
    labelNames: ['route', 'peer', 'kind'] as const,
    registers,
  })
  const retries = new Counter({
    name: 'sticky_upstream_retries_total',
    help: 'Upstream attempts that were retries, by route and peer.',
    labelNames: ['route', 'peer'] as const,
    registers,
  })
  const failures = new Counter({
    name: 'sticky_upstream_failures_total',
    help: 'Attempts that counted a failure against the peer (passive health), by route, peer and kind.',
    labelNames: ['route', 'peer', 'kind'] as const,
    registers,
  })
  const latency = new Histogram({
    name: 'sticky_upstream_duration_seconds',
    help: 'Upstream latency: attempt start to the response head (or the failure).',
    labelNames: ['route', 'peer'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  })
  new Gauge({
    name: 'sticky_peer_in_flight',
    help: "Exchanges in progress with the peer (the proxy's inFlight count at scrape time; summed across workers).",
    labelNames: ['route', 'peer'] as const,
    registers,
    collect() {
      this.reset()
      for (const reading of readPeers()) this.set({ route: reading.route, peer: reading.peer }, reading.inFlight)
    },
  })
  new Gauge({
    name: 'sticky_peer_usable',
    help: '1 when the balancer hands the peer new requests, 0 when health checks or passive failures took it out.',
    labelNames: ['route', 'peer'] as const,
    registers,
    // Across cluster workers: usable only where every worker agrees.
    aggregator: 'min',
    collect() {
      this.reset()
      for (const reading of readPeers()) this.set({ route: reading.route, peer: reading.peer }, reading.usable ? 1 : 0)
    },
  })
  return {
    registry,
    requestStarted: () => inFlight.inc(),
    requestEnded: () => inFlight.dec(),
    response(route, event) {
      const peer = event.peer?.id ?? '-'
      requests.inc({ route, peer, outcome: event.outcome, status_class: statusClass(event.status) })
    },
    attempt(route, attempt) {
      const peer = attempt.peer.id
      if (attempt.blame) failures.inc({ route, peer, kind: attempt.kind })
      // A cut after the head: the attempt and its latency were counted with the head's record.
      if (attempt.afterHead) return
      attempts.inc({ route, peer, kind: attempt.kind })
      if (attempt.retry) retries.inc({ route, peer })
      latency.observe({ route, peer }, Math.max(0, attempt.durationMs) / 1000)
    },
  }
}

/**
 * Serves `/metrics` (Prometheus text format) on its own listener, away from the proxied traffic. The
 * text comes from `collect`: this process's registry, or in cluster mode the primary's aggregation of
 * every worker's.
 */
export function serveMetrics(collect: () => Promise<{ contentType: string; text: string }>): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n')
      return
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n')
      return
    }
    collect().then(
      ({ contentType, text }) => {
        res.writeHead(200, { 'content-type': contentType })
        res.end(req.method === 'HEAD' ? undefined : text)
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${error instanceof Error ? error.message : String(error)}\n`)
      },
    )
  })
}

/** The primary's view in cluster mode: every worker's registry, summed (prom-client's aggregator). */
export function clusterCollector(): () => Promise<{ contentType: string; text: string }> {
  const aggregator = new (promClient().AggregatorRegistry)()
  return async () => ({ contentType: aggregator.contentType, text: await aggregator.clusterMetrics() })
}

/** In a worker: answers the primary's aggregation requests from this registry. */
export function exposeToCluster(metrics: ProxyMetrics): void {
  // prom-client installs the worker's answering listener in the constructor only.
  const { AggregatorRegistry } = promClient()
  new AggregatorRegistry()
  AggregatorRegistry.setRegistries([metrics.registry])
}

/**
 * {@link serveMetrics} listening on `address` (`--metrics`): `listening` gets the line that says where,
 * `failed` the line that says why it cannot listen (the caller decides what that ends).
 */
export function listenMetrics(
  collect: () => Promise<{ contentType: string; text: string }>,
  address: { readonly host: string; readonly port: number },
  listening: (line: string) => void,
  failed: (line: string) => void,
): Server {
  const server = serveMetrics(collect)
  server.once('error', (error: NodeJS.ErrnoException) => failed(`--metrics: cannot listen on ${address.host}:${address.port}: ${error.code ?? error.message}`))
  server.listen(address.port, address.host, () => {
    const bound = server.address() as AddressInfo
    listening(`sticky-proxy metrics on http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}/metrics`)
  })
  return server
}
