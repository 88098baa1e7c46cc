// The running `sticky-proxy`: one listener (plain HTTP, or HTTPS with HTTP/2 and HTTP/1.1), one sticky
// proxy per route, the access log, metrics, live reload and the graceful shutdown.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import { StickyConfigError } from 'sticky-core'
import { usageMessage } from './args'
import { createRequestLog, type RequestLog } from './log'
import { attemptFacts, createProxyMetrics, exposeToCluster, listenMetrics, type ProxyMetrics } from './metrics'
import { type AttemptRecord, createStickyProxy, type StickyProxy } from './proxy'
import { peerChanges, readCertificatePair, readReload, withConfigText } from './reload'
import { type PlanIo, type RoutePlan, routeFor, routingPath, type ServePlan } from './serve-plan'

export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

/** The process around the runner: where it writes and how it ends (the command line's `process`). */
export interface RunnerIo extends PlanIo {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
  readonly exit: (code: number) => never
}

/**
 * How a cluster worker shares what it learns with the other workers (through the primary). A worker
 * runs no health checks of its own: the primary checks each peer once and sends every result to all
 * workers ({@link Runner.applyCheck}).
 */
export interface PeerLink {
  /** This worker counted a failure against `peer` of `route`. */
  blamed(route: string, peer: string): void
  /** The listener is bound; `notice` is the start-up line, which the primary prints once for all workers. */
  listening(notice: string): void
}

/** A route being served: its plan and the proxy built from it. */
interface LiveRoute {
  readonly path: string
  readonly plan: RoutePlan
  readonly proxy: StickyProxy
}

/** What the runner exposes to the process around it (signals, the cluster primary). */
export interface Runner {
  /** SIGHUP: re-read the config file (in a cluster worker: take `configText`, the text the primary accepted) and apply what can be applied. */
  reload(configText?: string): void
  /** SIGTERM/SIGINT: the first stops accepting and drains; the second (`now`) cuts what is left. */
  stop(signal: string, now: boolean): void
  /** Another worker blamed a peer: count the failure here too. */
  applyBlame(route: string, peer: string): void
  /** The primary's health checks say `peer` of `route` is up or down: mark it in this worker's balancer. */
  applyCheck(route: string, peer: string, up: boolean): void
}

/**
 * Builds the proxies of `plan` and listens. Configuration errors end the process with exit code 2
 * before anything listens; a listener that cannot bind ends it with 1.
 *
 * @param link set in a cluster worker: failures are shared, signals come from the primary, metrics
 *   are aggregated by the primary, and the start-up notice is the primary's.
 */
export function startRunner(argv: readonly string[], initial: ServePlan, io: RunnerIo, link?: PeerLink): Runner {
  let plan = initial
  const log: RequestLog = createRequestLog(plan.log)
  const routes: LiveRoute[] = []
  const metrics: ProxyMetrics | undefined =
    plan.metrics === undefined
      ? undefined
      : createProxyMetrics(() =>
          routes.flatMap((route) =>
            route.proxy.balancer.peers.map((peer) => ({
              route: route.path,
              peer: peer.id,
              usable: route.proxy.balancer.isUsable(peer),
              inFlight: route.proxy.inFlight(peer),
            })),
          ),
        )
  if (metrics !== undefined && link !== undefined) exposeToCluster(metrics)
  routes.push(...plan.routes.map((route) => buildRoute(route)))

  function buildRoute(route: RoutePlan): LiveRoute {
    try {
      // In a cluster worker the checks are the primary's (one check per peer, not one per worker).
      const { healthCheck, ...options } = route.options
      const proxy = createStickyProxy({
        ...options,
        ...(link === undefined ? { healthCheck } : {}),
        onResponse: (event) => {
          if (log.enabled) log.request({ ...event, route: route.path })
          metrics?.response(route.path, event)
        },
        // Attempts are read only by the metrics and the other workers: without them, none is recorded.
        ...(metrics !== undefined || link !== undefined ? { onAttempt: (record: AttemptRecord) => attempted(route.path, record) } : {}),
      })
      return { path: route.path, plan: route, proxy }
    } catch (error) {
      if (error instanceof StickyConfigError) io.exit(failWith(io, EXIT_USAGE, usageMessage(error)))
      throw error
    }
  }

  /** What an attempt seen here means for metrics, and a blame for the other workers (no facts built for them alone). */
  function attempted(route: string, record: AttemptRecord): void {
    if (metrics !== undefined) metrics.attempt(route, attemptFacts(record))
    if (record.verdict.blame) link?.blamed(route, record.peer.id)
  }

  /** The route of a request; a plan whose one route is `/` takes every request without reading its path. */
  const routeOf = (url: string | undefined): LiveRoute | undefined => {
    const only = routes.length === 1 ? routes[0] : undefined
    return only !== undefined && only.path === '/' ? only : routeFor(routes, routingPath(url))
  }

  // --- the listener ---
  let inFlight = 0
  let stopping = false
  let graceTimer: NodeJS.Timeout | undefined
  let finished = false
  /** Set once the grace period ran out: the exit, run when the cut requests have been logged. */
  let afterCut: (() => void) | undefined

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight += 1
    metrics?.requestStarted()
    res.once('close', () => {
      inFlight -= 1
      metrics?.requestEnded()
      // After the proxy's own 'close' listener, which reports the exchange: its log line is written first.
      if (stopping && inFlight === 0) setImmediate(() => (afterCut ?? finish)())
    })
    // A request that arrives on a kept-alive connection during shutdown is served, then its connection closed.
    if (stopping) res.shouldKeepAlive = false
    const route = routeOf(req.url)
    if (route === undefined) {
      notFound(req, res)
      return
    }
    route.proxy(req, res)
  }
  /** No route takes the path: answered here, and logged and counted as every other request. */
  const notFound = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now()
    res.once('close', () => logNotFound(req, started, { ...(res.writableFinished ? {} : { error: 'client-aborted' }) }))
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': '10' }).end('not found\n')
  }
  const logNotFound = (req: IncomingMessage, started: number, extra: { error?: string; upgrade?: true }): void => {
    const fields = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      status: 404,
      outcome: '-',
      peer: null,
      attempts: 0,
      durationMs: performance.now() - started,
      ...extra,
    } as const
    log.request({ ...fields, route: '-' })
    metrics?.response('-', fields)
  }
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const route = routeOf(req.url)
    if (route === undefined) {
      const started = performance.now()
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      logNotFound(req, started, { upgrade: true })
      return
    }
    route.proxy.upgrade(req, socket, head)
  }

  const tlsFiles = plan.tls === undefined ? undefined : readTls(plan.tls, io)
  const server: Server | Http2SecureServer =
    tlsFiles === undefined
      ? createServer(onRequest)
      : createSecureServer({ allowHTTP1: true, ALPNProtocols: ['h2', 'http/1.1'], ...tlsFiles }, onRequest as never)
  server.on('upgrade', onUpgrade)

  // HTTPS connections, for the shutdown (http2's server has no closeIdleConnections): HTTP/2 sessions
  // are closed gracefully (GOAWAY, streams in flight finish); HTTP/1.1 sockets when idle.
  const sessions = new Set<Http2Session>()
  const sockets = new Map<Socket, { busy: number }>()
  if (tlsFiles !== undefined) {
    server.on('session', (session: Http2Session) => {
      sessions.add(session)
      session.once('close', () => sessions.delete(session))
      if (stopping) session.close()
    })
    server.on('secureConnection', (socket: Socket) => {
      const state = { busy: 0 }
      sockets.set(socket, state)
      socket.once('close', () => sockets.delete(socket))
    })
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.httpVersionMajor >= 2) return
      const state = sockets.get(req.socket)
      if (state === undefined) return
      state.busy += 1
      res.once('close', () => {
        state.busy -= 1
        if (stopping && state.busy === 0) req.socket.destroySoon()
      })
    })
  }

  function closeIdle(): void {
    if (server instanceof Object && 'closeIdleConnections' in server) {
      server.closeIdleConnections()
      return
    }
    for (const session of sessions) session.close()
    for (const [socket, state] of sockets) if (state.busy === 0 && !isHttp2(socket)) socket.destroySoon()
  }
  function closeAll(): void {
    if ('closeAllConnections' in server) {
      server.closeAllConnections()
      return
    }
    for (const session of sessions) session.destroy()
    for (const socket of sockets.keys()) socket.destroy()
  }

  // --- metrics ---
  let metricsServer: Server | undefined
  if (metrics !== undefined && plan.metrics !== undefined && link === undefined) {
    metricsServer = listenMetrics(
      async () => ({ contentType: metrics.registry.contentType, text: await metrics.registry.metrics() }),
      plan.metrics,
      (line) => log.notice(line),
      (line) => io.exit(failWith(io, EXIT_FAILURE, line)),
    )
  }

  // --- shutdown ---
  function finish(): void {
    if (finished) return
    finished = true
    if (graceTimer !== undefined) clearTimeout(graceTimer)
    const cut = inFlight
    closeAll()
    metricsServer?.close()
    metricsServer?.closeAllConnections()
    if (cut > 0) io.err(`sticky-proxy: grace period over, ${cut} request(s) cut`)
    const exit = (): void => {
      // The pools are closed after the clients' connections: a cut request is the client's end
      // (logged as such, 499), not an upstream connection that the proxy's own close broke.
      for (const route of routes) route.proxy.close()
      log.flush()
      io.exit(cut > 0 ? EXIT_FAILURE : 0)
    }
    if (inFlight === 0) {
      exit()
      return
    }
    // The cut requests are logged as their connections close, a turn of the event loop after
    // closeAll; the exit waits for those lines (and for at most a second).
    afterCut = exit
    setTimeout(exit, 1_000)
  }

  function stop(signal: string, now: boolean): void {
    if (stopping || now) {
      // A second signal means "now": the operator does not want to wait for the grace period.
      closeAll()
      for (const route of routes) route.proxy.close()
      log.flush()
      io.exit(signal === 'SIGINT' ? 130 : 143)
    }
    stopping = true
    // Closed before the notice is written, so that whoever reads the notice finds the port closed.
    server.close()
    closeIdle()
    io.err(`sticky-proxy: ${signal}: no new connections; waiting for ${inFlight} request(s) in flight`)
    if (inFlight === 0) {
      finish()
      return
    }
    graceTimer = setTimeout(finish, plan.grace)
  }

  // --- reload ---
  function reload(configText?: string): void {
    const where = plan.configFile
    if (where === undefined) {
      io.err('sticky-proxy: SIGHUP: no --config file to re-read; nothing changed')
      return
    }
    const reading = readReload(plan, argv, withConfigText(io, where, configText))
    if (!reading.ok) {
      io.err(`sticky-proxy: SIGHUP: ${reading.message}; keeping the running configuration`)
      return
    }
    const { plan: next, tls: secure } = reading
    const changes: string[] = []
    for (const [index, route] of routes.entries()) {
      const planned = next.routes[index]
      if (planned === undefined) continue
      const before = route.proxy.balancer.peers.map((peer) => peer.id)
      route.proxy.balancer.setPeers(planned.options.peers)
      const after = route.proxy.balancer.peers.map((peer) => peer.id)
      const { added, removed } = peerChanges(before, after)
      routes[index] = { ...route, plan: planned }
      if (added.length + removed.length > 0) {
        const label = routes.length === 1 ? '' : `${route.path} `
        changes.push(`${label}peers ${[...added.map((id) => `+${id}`), ...removed.map((id) => `-${id}`)].join(' ')}`)
      }
    }
    if (secure !== undefined && 'setSecureContext' in server) {
      server.setSecureContext(secure)
      changes.push('certificate re-read')
    }
    log.apply(next.log)
    plan = next
    io.err(`sticky-proxy: SIGHUP: reloaded ${where}${changes.length === 0 ? '' : ` (${changes.join('; ')})`}`)
  }

  function applyBlame(routePath: string, peerId: string): void {
    const route = routes.find((candidate) => candidate.path === routePath)
    const peer = route?.proxy.balancer.peers.find((candidate) => candidate.id === peerId)
    if (route !== undefined && peer !== undefined) route.proxy.balancer.report(peer, false)
  }

  function applyCheck(routePath: string, peerId: string, up: boolean): void {
    // An unknown peer (removed by a reload meanwhile) is ignored by the balancer.
    routes.find((candidate) => candidate.path === routePath)?.proxy.balancer.setChecked(peerId, up)
  }

  server.once('error', (error: NodeJS.ErrnoException) => {
    for (const route of routes) route.proxy.close()
    const where = `${plan.listen.host}:${plan.listen.port}`
    io.exit(failWith(io, EXIT_FAILURE, `cannot listen on ${where}: ${error.code ?? error.message}`))
  })
  server.listen(plan.listen.port, plan.listen.host, () => {
    const notice = listeningNotice(server.address() as AddressInfo, tlsFiles !== undefined, routes)
    if (link === undefined) log.notice(notice)
    else link.listening(notice)
  })

  return { reload, stop, applyBlame, applyCheck }
}

/** The start-up line the tests and operators wait for. */
export function listeningNotice(address: AddressInfo, tls: boolean, routes: ReadonlyArray<{ path: string; proxy: StickyProxy }>): string {
  const upstreams =
    routes.length === 1 && routes[0]?.path === '/'
      ? routes[0].proxy.balancer.peers.map((peer) => peer.id).join(', ')
      : routes.map((route) => `${route.path} -> ${route.proxy.balancer.peers.map((peer) => peer.id).join(', ')}`).join('; ')
  return `sticky-proxy listening on ${tls ? 'https' : 'http'}://${hostOf(address)}:${address.port} (upstreams: ${upstreams})`
}

function hostOf(address: AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]` : address.address
}

function isHttp2(socket: Socket): boolean {
  return (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol === 'h2'
}

/** The certificate pair at start: unreadable or mismatched files are a configuration error (exit 2). */
function readTls(tls: { readonly cert: string; readonly key: string }, io: RunnerIo): { readonly cert: Buffer; readonly key: Buffer } {
  const pair = readCertificatePair(tls, io)
  if (typeof pair === 'string') return io.exit(failWith(io, EXIT_USAGE, pair))
  return pair
}

function failWith(io: RunnerIo, code: number, message: string): number {
  io.err(`sticky-proxy: ${message}`)
  return code
}
