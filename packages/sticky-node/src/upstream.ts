import { request as httpRequest, type Agent, type ClientRequest, type RequestOptions } from 'node:http'
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
  const where = addressOf(peer)
  const options: RequestOptions = {
    method: init.method,
    path: init.path,
    headers: init.headers as string[],
    agent: init.agent,
    timeout: init.timeout,
    setHost: false,
    host: where.host,
    port: where.port,
    socketPath: where.socketPath,
  }
  if (where.servername !== undefined) (options as { servername?: string }).servername = where.servername
  return where.tls ? httpsRequest(options) : httpRequest(options)
}

/** Where a peer's connections go, read from its target once per peer object (the hot path only reads it). */
interface PeerAddress {
  readonly tls: boolean
  readonly host: string | undefined
  readonly port: number | undefined
  readonly socketPath: string | undefined
  /** SNI: the host name of an `https://` peer named by name, not by address. */
  readonly servername: string | undefined
}

const addresses = new WeakMap<Peer, PeerAddress>()

function addressOf(peer: Peer): PeerAddress {
  let where = addresses.get(peer)
  if (where !== undefined) return where
  const target = peer.target
  if (target.kind === 'unix') where = { tls: false, host: undefined, port: undefined, socketPath: target.socketPath, servername: undefined }
  else {
    const host = unbracket(target.host)
    const tls = target.protocol === 'https:'
    where = { tls, host, port: target.port, socketPath: undefined, servername: tls && isIP(host) === 0 ? host : undefined }
  }
  addresses.set(peer, where)
  return where
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
  if (url.charCodeAt(0) === 47 /* / */ || url === '*') return url
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

/** undici's raw fields (Buffers, or strings) as node:http gives them: latin-1 strings. */
export function latin1Fields(raw: readonly (Buffer | string)[]): string[] {
  const out: string[] = new Array(raw.length)
  for (let i = 0; i < raw.length; i++) {
    const field = raw[i] as Buffer | string
    out[i] = typeof field === 'string' ? field : field.toString('latin1')
  }
  return out
}
