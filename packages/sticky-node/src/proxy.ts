import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { Duplex } from 'node:stream'
import { createBalancer, StickyConfigError, type Balancer, type Peer } from 'sticky-core'
import { AgentPool } from './agents'
import { fieldNames, type ProxyContext } from './context'
import { emitHealthChange, type ProxyEvents } from './events'
import { forwardRequest } from './forward'
import { createHealthChecker, type HealthChecker } from './health-checker'
import { resolveProxyOptions, type StickyProxyOptions } from './options'
import { forwardUpgrade } from './upgrade'

export type { AttemptRecord, HealthChangeEvent } from './events'
export type { HealthCheckChange, HealthChecker, HealthCheckerOptions } from './health-checker'
export type {
  ProxyError,
  ProxyOptions,
  ProxyResponseEvent,
  StickyProxyOptions,
  XForwardedOptions,
} from './options'

/**
 * A sticky reverse proxy: a `node:http` request listener, with `.upgrade` for the server's
 * `upgrade` event.
 */
export interface StickyProxy {
  /** Proxies one request to the peer the balancer picks; use as `http.createServer(proxy)`. */
  (req: IncomingMessage, res: ServerResponse): void
  /**
   * The same for node:http2's compatibility API: `http2.createSecureServer({ allowHTTP1: true, ... }, proxy)`.
   * The request goes upstream as HTTP/1.1; upgrades (WebSockets) come over HTTP/1.1 only.
   */
  (req: Http2ServerRequest, res: Http2ServerResponse): void
  /** Proxies an HTTP Upgrade (WebSocket): `server.on('upgrade', proxy.upgrade)`. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /**
   * The balancer that routes every request: `setPeers` to change the peers (health checks follow),
   * `health(peer)` / `isUsable(peer)` for gauges. In cluster mode, another process's findings are
   * applied here: `balancer.report(peerId, false)` for a passive failure it saw,
   * `balancer.setChecked(peerId, up)` for a check result (peers named by route key).
   */
  readonly balancer: Balancer
  /** The active health checks (`healthCheck` option), or undefined without them. */
  readonly healthChecker: HealthChecker | undefined
  /** How many upstream attempts to the peer (object or route key) are open now: an in-flight gauge. */
  inFlight(peer: Peer | string): number
  /**
   * Stops the health checks and destroys the connection pools the proxy created, closing idle
   * upstream connections. Call it after the server stopped accepting requests; a request that
   * arrives later opens new pools.
   */
  close(): void
}

/**
 * Creates a sticky reverse proxy for `node:http`: nginx's `sticky cookie` in front of
 * `proxy_pass`, with the routing decided by a `sticky-core` balancer built from the same options.
 * Options are validated here and throw `StickyConfigError` (a `TypeError`) naming the option, the
 * balancer's and `proxy.*` alike; request-time problems never throw, they become 502 / 504 answers.
 */
export function createStickyProxy(options: StickyProxyOptions): StickyProxy {
  const { proxy: proxyOptions, onResponse, onError, healthCheck, onAttempt, onHealthChange, ...balancerOptions } = options
  const resolved = resolveProxyOptions(proxyOptions)
  for (const [name, hook] of [
    ['onResponse', onResponse],
    ['onError', onError],
    ['onAttempt', onAttempt],
    ['onHealthChange', onHealthChange],
  ] as const) {
    if (hook !== undefined && typeof hook !== 'function') throw new StickyConfigError(name, hook, 'expected a function')
  }
  const balancer = createBalancer(balancerOptions)
  const agents = new AgentPool(resolved.agent, () => balancer.peers, resolved.timeout)
  const events: ProxyEvents = { onAttempt, onHealthChange, inFlight: new Map(), passiveDown: new Set() }
  const ctx: ProxyContext = { balancer, options: resolved, agents, onResponse, onError: onError ?? warn, events, names: fieldNames(resolved) }
  const healthChecker =
    healthCheck === undefined
      ? undefined
      : createHealthChecker({
          balancer,
          healthCheck,
          agent: resolved.agent,
          onChange: ({ peer, up, detail }) =>
            emitHealthChange(ctx, { peer, usable: balancer.isUsable(peer), reason: 'check', checked: up ? 'up' : 'down', detail }),
          onError: ctx.onError,
        })
  // The request path reads only what node:http and node:http2's compatibility objects share.
  const handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void =>
    forwardRequest(ctx, req as IncomingMessage, res as ServerResponse)
  return Object.assign(handler, {
    upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer): void => forwardUpgrade(ctx, req, socket, head),
    balancer,
    healthChecker,
    inFlight: (peer: Peer | string): number => events.inFlight.get(typeof peer === 'string' ? peer : peer.id) ?? 0,
    close: (): void => {
      healthChecker?.close()
      agents.close()
    },
  })
}

function warn(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : String(error), { code: 'STICKY_HOOK_ERROR' })
}
