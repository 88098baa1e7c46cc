import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { forwardedFields, forwardedNames, requestIdFor, upstreamHost, type Balancer, type Peer } from 'sticky-core'
import type { AgentPool } from './agents'
import { endToEndHeaders } from './hop-by-hop'
import type { ProxyResponseEvent, ResolvedProxyOptions } from './options'

/** What one proxy instance shares between its requests. */
export interface ProxyContext {
  readonly balancer: Balancer
  readonly options: ResolvedProxyOptions
  readonly agents: AgentPool
  readonly onResponse: ((event: ProxyResponseEvent) => void) | undefined
  /** Where an exception thrown by a user's callback goes, instead of crashing the process. */
  readonly onError: (error: unknown) => void
}

/**
 * The request's id when `proxy.requestId` is on (sticky-core's `requestIdFor`: a trusted hop's own,
 * else a new random UUID); read once per request, so that every attempt and the response carry the same.
 */
export function requestIdOf(ctx: ProxyContext, req: IncomingMessage): string | undefined {
  const name = ctx.options.requestId
  if (name === undefined) return undefined
  return requestIdFor(fieldLines(req.rawHeaders, name.toLowerCase()), ctx.options.trustProxy.trusts(req.socket?.remoteAddress), randomUUID)
}

/**
 * The client's headers as the peer gets them: end-to-end fields only, minus `drop`, HTTP/2
 * pseudo-headers and the client's `Host`, then the forwarding fields (kept and extended from a
 * trusted proxy, replaced otherwise), the request id and the peer's `Host` (sticky-core's header rules).
 */
export function upstreamHeaders(ctx: ProxyContext, req: IncomingMessage, peer: Peer, drop: readonly string[], requestId: string | undefined): string[] {
  const xf = ctx.options.xForwarded
  let dropped = droppedNames(ctx, drop)
  // HTTP/2 may split `Cookie` into one field per pair (RFC 9113 section 8.2.3); HTTP/1.1 allows one line.
  const crumbs = req.httpVersionMajor >= 2 ? fieldLines(req.rawHeaders, 'cookie') : []
  if (crumbs.length > 1) dropped = new Set([...dropped, 'cookie'])
  const headers = endToEndHeaders(req.rawHeaders, dropped)
  if (crumbs.length > 1) headers.push('Cookie', crumbs.join('; '))
  const client = req.socket?.remoteAddress
  const trusted = ctx.options.trustProxy.trusts(client)
  // An untrusted client's forwarding fields are replaced, never read: no scan for them.
  const forwarded = forwardedFields(
    {
      forwardedFor: trusted ? fieldLines(req.rawHeaders, 'x-forwarded-for') : undefined,
      forwardedProto: trusted ? fieldLines(req.rawHeaders, 'x-forwarded-proto') : undefined,
      forwardedHost: trusted ? fieldLines(req.rawHeaders, 'x-forwarded-host') : undefined,
      forwarded: trusted ? fieldLines(req.rawHeaders, 'forwarded') : undefined,
      client,
      proto: isEncrypted(req) ? 'https' : 'http',
      host: clientHost(req),
      trusted,
    },
    xf,
  )
  for (let i = 0; i < forwarded.length; i++) headers.push(forwarded[i] as string)
  const idField = ctx.options.requestId
  if (idField !== undefined && requestId !== undefined) headers.push(idField, requestId)
  headers.push('Host', hostOf(peer))
  return headers
}

/** The lower-cased names {@link upstreamHeaders} leaves out, per proxy and `drop` list: built once, read per request. */
const droppedCache = new WeakMap<ProxyContext, Map<readonly string[], ReadonlySet<string>>>()

function droppedNames(ctx: ProxyContext, drop: readonly string[]): ReadonlySet<string> {
  let byDrop = droppedCache.get(ctx)
  if (byDrop === undefined) {
    byDrop = new Map()
    droppedCache.set(ctx, byDrop)
  }
  let dropped = byDrop.get(drop)
  if (dropped === undefined) {
    const names = new Set(forwardedNames(ctx.options.xForwarded))
    names.add('host')
    for (const name of drop) names.add(name)
    const idField = ctx.options.requestId
    if (idField !== undefined) names.add(idField.toLowerCase())
    dropped = names
    byDrop.set(drop, dropped)
  }
  return dropped
}

/** The peer's `Host` value (sticky-core's `upstreamHost`), computed once per peer object. */
const hosts = new WeakMap<Peer, string>()

function hostOf(peer: Peer): string {
  let host = hosts.get(peer)
  if (host === undefined) {
    host = upstreamHost(peer)
    hosts.set(peer, host)
  }
  return host
}

/**
 * A response head's fields with the request id set to `requestId`, replacing a peer's copy so that
 * the client sees one id, the one the proxy logged.
 */
export function withRequestId(ctx: ProxyContext, headers: string[], requestId: string | undefined): string[] {
  const name = ctx.options.requestId
  if (name === undefined || requestId === undefined) return headers
  const lower = name.toLowerCase()
  const out: string[] = []
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() !== lower) out.push(headers[i] as string, headers[i + 1] as string)
  }
  out.push(name, requestId)
  return out
}

/** The host the client asked for: `Host`, or HTTP/2's `:authority`. */
function clientHost(req: IncomingMessage): string | undefined {
  return req.headers.host ?? (req.headers[':authority'] as string | undefined)
}

/** Every value of the field `name` (lower case), repeated lines apart. */
function fieldLines(rawHeaders: readonly string[], name: string): string[] {
  const lines: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name) lines.push(rawHeaders[i + 1] ?? '')
  }
  return lines
}

/** A TLS connection, HTTP/1.1 or HTTP/2 (whose compatibility request has the session's socket). */
function isEncrypted(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: unknown } | null | undefined)?.encrypted === true
}
