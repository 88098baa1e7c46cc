import { hopByHopNames } from 'sticky-core'
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
}

/**
 * The headers to send upstream: the client's minus hop-by-hop ones, `Host` (fetch derives it from the
 * peer's origin, as nginx's default `proxy_set_header Host $proxy_host`) and `Expect` (the client's hop
 * answers `100 Continue` before the body is read; fetch implementations refuse the header), plus `X-Forwarded-*` when
 * `forwarded` is given. `X-Forwarded-For` appends the client to the list it arrived with, like nginx's
 * `$proxy_add_x_forwarded_for`; `-Proto` and `-Host` are replaced, as only this hop knows them.
 */
export function upstreamRequestHeaders(incoming: Headers, forwarded: ForwardedFor | undefined): Headers {
  const drop = notForwarded(incoming)
  drop.add('host')
  drop.add('expect')
  const headers = new Headers()
  for (const [name, value] of incoming) {
    if (!drop.has(name)) headers.append(name, value)
  }
  if (forwarded !== undefined) {
    if (forwarded.client !== undefined) {
      const chain = headers.get('x-forwarded-for')
      headers.set('x-forwarded-for', chain === null ? forwarded.client : `${chain}, ${forwarded.client}`)
    }
    headers.set('x-forwarded-proto', forwarded.proto)
    headers.set('x-forwarded-host', forwarded.host)
  }
  return headers
}

/**
 * A mutable copy of an upstream response's headers without hop-by-hop ones, keeping each `Set-Cookie`
 * as its own header. Unless `keepContentEncoding`, an encoded response also loses `Content-Encoding` and
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
  for (const [name, value] of upstream) {
    if (!drop.has(name)) headers.append(name, value)
  }
  for (const cookie of cookies) headers.append('set-cookie', cookie)
  return headers
}
