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

/** What the handler knows about the client, for the `X-Forwarded-*` headers. */
export interface ForwardedFor {
  /** The client's address, if known. */
  readonly client: string | undefined
  /** `http` or `https`: the scheme the client used. */
  readonly proto: string
  /** The `Host` the client asked for. */
  readonly host: string
  /** Which fields to write (`proxy.xForwarded`). @default all three */
  readonly select?: ForwardedSelection | undefined
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
 * the body is read, and fetch implementations refuse it. `X-Forwarded-For` extends the chain that
 * arrived (`appendForwardedFor`: an empty incoming field gives just the client); `-Proto` and `-Host`
 * are replaced, as only this hop knows them.
 */
export function upstreamRequestHeaders(incoming: Headers, forwarded: ForwardedFor | undefined): Headers {
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
    const input = { forwardedFor: incoming.get('x-forwarded-for'), client: forwarded.client, proto: forwarded.proto, host: forwarded.host }
    const fields = forwardedFields(input, select)
    for (let i = 0; i + 1 < fields.length; i += 2) headers.append(fields[i] as string, fields[i + 1] as string)
  }
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
