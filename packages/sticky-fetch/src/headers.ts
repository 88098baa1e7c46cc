import { forwardedFields, forwardedNames, hopByHopNames, relayableField } from 'sticky-core'
import type { ForwardedSelection } from 'sticky-core'
import { getSetCookies } from './set-cookie'

/**
 * The names a copy leaves out: the hop-by-hop ones (sticky-core's `hopByHopNames`: the fixed set of
 * RFC 9110 section 7.6.1 and every name `Connection` lists), and `Trailer`, as a fetch `Response`
 * carries no trailer section to announce.
 */
function notForwarded(headers: Headers): Set<string> {
  const names = hopByHopNames(headers.get('connection'))
  names.add('trailer')
  return names
}

/** What the handler knows about the client, for the `X-Forwarded-*` and `Forwarded` headers. */
export interface ForwardedFor {
  /** The client's address, if known. */
  readonly client: string | undefined
  /** `http` or `https`: the scheme the client used. */
  readonly proto: string
  /** The `Host` the client asked for. */
  readonly host: string
  /** Which fields to write (`proxy.xForwarded`). @default all three */
  readonly select?: ForwardedSelection | undefined
  /** Whether the client is a trusted proxy (`proxy.trustProxy`): its forwarding fields are then kept and extended. @default false */
  readonly trusted?: boolean | undefined
}

/** The request's id (`proxy.requestId`) and the field that carries it. */
export interface RequestIdField {
  /** The field's name, as configured (`X-Request-Id` for `requestId: true`). */
  readonly name: string
  /** The id: a trusted proxy's own, or a new one. */
  readonly value: string
}

/** Every `X-Forwarded-*` field, when `ForwardedFor.select` is absent. */
const EVERY_FORWARDED: ForwardedSelection = Object.freeze({ for: true, proto: true, host: true })

/**
 * The headers to send upstream: the client's minus hop-by-hop ones, `Host` and `Expect`, plus the
 * `X-Forwarded-*` fields of sticky-core's `forwardedFields` when `forwarded` is given (the client's
 * own fields of those names are dropped first, so none is sent twice).
 *
 * `Host` is left to fetch, which derives it from the peer's URL: that is sticky-core's
 * `upstreamHost(peer)`, the rule every adapter keeps. `Expect` is answered by the client's hop before
 * the body is read, and fetch implementations refuse it.
 *
 * From a client that is no trusted proxy (`forwarded.trusted`), every forwarding claim is replaced by
 * what this hop saw (`X-Forwarded-For` is the client's address alone, and left out when that is
 * unknown); from a trusted one `X-Forwarded-For` extends the chain that arrived
 * (`appendForwardedFor`) and its `-Proto`, `-Host` and `Forwarded` are kept. The request id, when
 * given, replaces the client's field of that name.
 */
export function upstreamRequestHeaders(incoming: Headers, forwarded: ForwardedFor | undefined, requestId?: RequestIdField | undefined): Headers {
  const drop = notForwarded(incoming)
  drop.add('host')
  drop.add('expect')
  const select = forwarded?.select ?? EVERY_FORWARDED
  if (forwarded !== undefined) for (const name of forwardedNames(select)) drop.add(name)
  const headers = new Headers()
  for (const [name, value] of incoming) {
    if (!drop.has(name)) headers.append(name, value)
  }
  if (forwarded !== undefined) {
    const input = {
      forwardedFor: incoming.get('x-forwarded-for'),
      forwardedProto: incoming.get('x-forwarded-proto'),
      forwardedHost: incoming.get('x-forwarded-host'),
      forwarded: incoming.get('forwarded'),
      client: forwarded.client,
      proto: forwarded.proto,
      host: forwarded.host,
      trusted: forwarded.trusted,
    }
    const fields = forwardedFields(input, select)
    for (let i = 0; i + 1 < fields.length; i += 2) headers.append(fields[i] as string, fields[i + 1] as string)
  }
  if (requestId !== undefined) headers.set(requestId.name, requestId.value)
  return headers
}

/**
 * A mutable copy of an upstream response's headers without hop-by-hop ones and fields no head may
 * carry, keeping each `Set-Cookie` as its own header. Unless `keepContentEncoding`, an encoded response also loses `Content-Encoding` and
 * `Content-Length`, because the runtime's fetch decoded the body.
 */
export function downstreamResponseHeaders(upstream: Headers, keepContentEncoding: boolean): Headers {
  const drop = notForwarded(upstream)
  const cookies = drop.has('set-cookie') ? [] : getSetCookies(upstream)
  drop.add('set-cookie')
  const encoding = upstream.get('content-encoding')
  if (!keepContentEncoding && encoding !== null && encoding.trim().toLowerCase() !== 'identity') {
    drop.add('content-encoding')
    drop.add('content-length')
  }
  const headers = new Headers()
  // A field no head may carry (workerd passes control bytes and names that are no token through) is
  // left out, as sticky-core's relayableField says: it must never reach the client's wire.
  for (const [name, value] of upstream) {
    if (!drop.has(name) && relayableField(name, value)) headers.append(name, value)
  }
  for (const cookie of cookies) if (relayableField('set-cookie', cookie)) headers.append('set-cookie', cookie)
  return headers
}
