import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { createBalancer, type Balancer } from 'sticky-core'
import { resolveProxyOptions, type StickyProxyOptions } from './options'

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
  /** Destroys the connection pools the proxy created and clears its timers. Idempotent. */
  close(): void
}

/**
 * Creates a sticky reverse proxy for `node:http` (nginx `sticky cookie` in front of `proxy_pass`).
 */
export function createStickyProxy(options: StickyProxyOptions): StickyProxy {
  const { proxy: proxyOptions, onResponse: _onResponse, ...balancerOptions } = options
  resolveProxyOptions(proxyOptions)
  const balancer = createBalancer(balancerOptions)
  const handler = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(502, { 'content-type': 'text/plain' }).end('not implemented yet\n')
  }
  return Object.assign(handler, {
    upgrade(_req: IncomingMessage, socket: Duplex, _head: Buffer): void {
      socket.destroy()
    },
    balancer,
    close(): void {},
  })
}
