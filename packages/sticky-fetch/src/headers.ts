import { getSetCookies } from './set-cookie'

/**
 * Headers that describe one connection, not the message (RFC 9110 section 7.6.1), plus the obsolete
 * `Proxy-Connection` and `Keep-Alive` that clients still send. A proxy must not forward them.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/** The hop-by-hop header names of a message: the fixed set and every name its `Connection` lists. */
export function hopByHopNames(headers: Headers): Set<string> {
  const names = new Set(HOP_BY_HOP)
  const connection = headers.get('connection')
  if (connection !== null) {
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase()
      if (name !== '') names.add(name)
    }
  }
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
  const drop = hopByHopNames(incoming)
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
  const drop = hopByHopNames(upstream)
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
