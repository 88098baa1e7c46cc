import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { contentLengthAllowed, forwardedFields, forwardedNames, requestIdFor, upstreamHost, type Balancer, type Decision, type Peer } from 'sticky-core'
import type { AgentPool } from './agents'
import type { ProxyEvents } from './events'
import { endToEndHeaders } from './hop-by-hop'
import { appendPin } from './pin-headers'
import type { ProxyResponseEvent, ResolvedProxyOptions } from './options'

/** What one proxy instance shares between its requests. */
export interface ProxyContext {
  readonly balancer: Balancer
  readonly options: ResolvedProxyOptions
  readonly agents: AgentPool
  readonly onResponse: ((event: ProxyResponseEvent) => void) | undefined
  /** Where an exception thrown by a user's callback goes, instead of crashing the process. */
  readonly onError: (error: unknown) => void
  readonly events: ProxyEvents
  readonly names: FieldNames
}

/** Field names the options fix, lower-cased once per proxy so that no request lower-cases them again. */
export interface FieldNames {
  /** The client's fields a plain request's peer never gets as sent (see {@link fieldNames}). */
  readonly request: ReadonlySet<string>
  /** The same for an upgrade, which has no body to frame. */
  readonly upgrade: ReadonlySet<string>
  /** The peer's fields the client never gets as sent: the request-id field, which the proxy sets itself. */
  readonly response: ReadonlySet<string>
  /** {@link FieldNames.response} and `content-length`: for a head that may carry no body length (a 204). */
  readonly bodiless: ReadonlySet<string>
  /** The request-id field (`proxy.requestId`) in lower case, or undefined when it is off. */
  readonly requestId: string | undefined
}

/**
 * The names of {@link FieldNames}. Left out of the client's fields: the forwarding fields (stated again
 * by sticky-core's rules), `Host` (the peer's is sent), the request-id field (the proxy's id is sent);
 * for a plain request also `Expect` (the 100 Continue was already answered to the client, by node:http or
 * the application's 'checkContinue' handler, and the body is streamed right away) and `Content-Length`
 * (the framing is stated again by `requestFraming`).
 */
export function fieldNames(options: ResolvedProxyOptions): FieldNames {
  const requestId = options.requestId?.toLowerCase()
  const upgrade = new Set(forwardedNames(options.xForwarded))
  upgrade.add('host')
  if (requestId !== undefined) upgrade.add(requestId)
  const request = new Set(upgrade)
  request.add('expect')
  request.add('content-length')
  const response = new Set(requestId === undefined ? [] : [requestId])
  return { request, upgrade, response, bodiless: new Set([...response, 'content-length']), requestId }
}

/**
 * Whether the client's address is one of `proxy.trustProxy`: then its forwarding fields and request id
 * are kept. Read once per request.
 */
export function trustsClient(ctx: ProxyContext, req: IncomingMessage): boolean {
  return ctx.options.trustProxy.trusts(req.socket?.remoteAddress)
}

/**
 * The request's id when `proxy.requestId` is on (sticky-core's `requestIdFor`: a trusted hop's own,
 * else a new random UUID); read once per request, so that every attempt and the response carry the same.
 */
export function requestIdOf(ctx: ProxyContext, req: IncomingMessage, trusted: boolean): string | undefined {
  const name = ctx.names.requestId
  if (name === undefined) return undefined
  return requestIdFor(fieldLines(req.rawHeaders, name), trusted, randomUUID)
}

/**
 * The client's headers as every peer gets them, but for `Host`: end-to-end fields only, minus `drop`
 * and HTTP/2 pseudo-headers, then the forwarding fields (kept and extended from a trusted proxy,
 * replaced otherwise) and the request id (sticky-core's header rules). Built once per request;
 * {@link toPeer} adds each attempt's `Host`.
 */
export function clientHeaders(ctx: ProxyContext, req: IncomingMessage, drop: ReadonlySet<string>, requestId: string | undefined, trusted: boolean): string[] {
  const xf = ctx.options.xForwarded
  let dropped = drop
  // HTTP/2 may split `Cookie` into one field per pair (RFC 9113 section 8.2.3); HTTP/1.1 allows one line.
  const crumbs = req.httpVersionMajor >= 2 ? fieldLines(req.rawHeaders, 'cookie') : []
  if (crumbs.length > 1) dropped = new Set([...dropped, 'cookie'])
  const headers = endToEndHeaders(req.rawHeaders, dropped)
  if (crumbs.length > 1) headers.push('Cookie', crumbs.join('; '))
  // An untrusted client's forwarding fields are replaced, never read: no scan for them.
  const forwarded = forwardedFields(
    {
      forwardedFor: trusted ? fieldLines(req.rawHeaders, 'x-forwarded-for') : undefined,
      forwardedProto: trusted ? fieldLines(req.rawHeaders, 'x-forwarded-proto') : undefined,
      forwardedHost: trusted ? fieldLines(req.rawHeaders, 'x-forwarded-host') : undefined,
      forwarded: trusted ? fieldLines(req.rawHeaders, 'forwarded') : undefined,
      client: req.socket?.remoteAddress,
      proto: isEncrypted(req) ? 'https' : 'http',
      host: clientHost(req),
      trusted,
    },
    xf,
  )
  for (let i = 0; i < forwarded.length; i++) headers.push(forwarded[i] as string)
  const idField = ctx.options.requestId
  if (idField !== undefined && requestId !== undefined) headers.push(idField, requestId)
  return headers
}

/** One attempt's header list: {@link clientHeaders} and the peer's `Host` (a new list: an attempt may add its framing). */
export function toPeer(headers: readonly string[], peer: Peer): string[] {
  const out = headers.slice()
  out.push('Host', hostOf(peer))
  return out
}

/**
 * A response head's fields as the client gets them: end-to-end fields only, the decision's pin
 * appended (sticky-core's `Set-Cookie`, the header carrier), and the request id set to `requestId`,
 * replacing a peer's copy, so that the client sees one id, the one the proxy logged.
 */
export function responseHeaders(ctx: ProxyContext, rawHeaders: readonly string[], decision: Decision, requestId: string | undefined, status: number): string[] {
  const drop = contentLengthAllowed(status) ? ctx.names.response : ctx.names.bodiless
  const headers = appendPin(endToEndHeaders(rawHeaders, drop), decision, ctx.balancer)
  const name = ctx.options.requestId
  if (name !== undefined && requestId !== undefined) headers.push(name, requestId)
  return headers
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
