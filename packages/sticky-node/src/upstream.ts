import { request as httpRequest, type Agent, type ClientRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import type { Peer } from 'sticky-core'

/** What differs between two requests to a peer. */
export interface UpstreamInit {
  readonly method: string
  /** Origin-form path and query (see {@link originForm}). */
  readonly path: string
  /** Flat raw header list, sent as is. */
  readonly headers: readonly string[]
  readonly agent: Agent
  /** Socket inactivity timeout in milliseconds, from the start of connecting. */
  readonly timeout: number
}

/**
 * Opens a request to `peer.target`: TCP, TLS for `https://` peers (SNI from the host name), or a
 * unix socket. The caller's flat header list goes out unchanged; `setHost: false` because the
 * client's `Host` is forwarded (or added by the caller when the client sent none).
 */
export function requestUpstream(peer: Peer, init: UpstreamInit): ClientRequest {
  const target = peer.target
  const common = {
    method: init.method,
    path: init.path,
    headers: init.headers,
    agent: init.agent,
    timeout: init.timeout,
    setHost: false,
  }
  if (target.kind === 'unix') return httpRequest({ ...common, socketPath: target.socketPath })
  const host = unbracket(target.host)
  if (target.protocol === 'https:') {
    return httpsRequest({ ...common, host, port: target.port, ...(isIP(host) === 0 ? { servername: host } : {}) })
  }
  return httpRequest({ ...common, host, port: target.port })
}

/** The `Host` value that names the peer, for clients that sent none (HTTP/1.0). */
export function peerHost(peer: Peer): string {
  const target = peer.target
  if (target.kind === 'unix') return 'localhost'
  return new URL(target.origin).host
}

/**
 * The request target in origin form. An absolute-form target (`GET http://other/ HTTP/1.1`)
 * must never choose where the proxy connects, so only its path and query are kept; any other
 * form (authority or garbage) becomes `/`.
 */
export function originForm(url: string | undefined): string {
  if (url === undefined || url === '') return '/'
  if (url.startsWith('/') || url === '*') return url
  try {
    const parsed = new URL(url)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return '/'
    return `${parsed.pathname}${parsed.search}`
  } catch {
    return '/'
  }
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
}
