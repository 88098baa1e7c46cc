import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { createBalancer, StickyConfigError, type Balancer } from 'sticky-core'
import { AgentPool } from './agents'
import type { ProxyContext } from './context'
import { forwardRequest } from './forward'
import { resolveProxyOptions, type StickyProxyOptions } from './options'
import { forwardUpgrade } from './upgrade'

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
  /** Proxies an HTTP Upgrade (WebSocket): `server.on('upgrade', proxy.upgrade)`. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /** The balancer that routes every request (for `setPeers`, or to inspect `peers`). */
  readonly balancer: Balancer
  /**
   * Destroys the connection pools the proxy created, closing idle upstream connections. Call it
   * after the server stopped accepting requests; a request that arrives later opens new pools.
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
  const { proxy: proxyOptions, onResponse, onError, ...balancerOptions } = options
  const resolved = resolveProxyOptions(proxyOptions)
  if (onResponse !== undefined && typeof onResponse !== 'function') throw new StickyConfigError('onResponse', onResponse, 'expected a function')
  if (onError !== undefined && typeof onError !== 'function') throw new StickyConfigError('onError', onError, 'expected a function')
  const balancer = createBalancer(balancerOptions)
  const agents = new AgentPool(resolved.agent, () => balancer.peers)
  const ctx: ProxyContext = { balancer, options: resolved, agents, onResponse, onError: onError ?? warn }
  const handler = (req: IncomingMessage, res: ServerResponse): void => forwardRequest(ctx, req, res)
  return Object.assign(handler, {
    upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer): void => forwardUpgrade(ctx, req, socket, head),
    balancer,
    close: (): void => agents.close(),
  })
}

function warn(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : String(error), { code: 'STICKY_HOOK_ERROR' })
}
