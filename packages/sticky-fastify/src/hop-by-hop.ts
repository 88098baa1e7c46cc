/**
 * Header fields that describe one connection, not the message (RFC 9110 section 7.6.1), plus the
 * non-standard ones proxies still meet. A proxy must not forward them in either direction.
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

/** A header map as Node and undici hand it over: lowercase names. */
export type HeaderMap = Record<string, string | string[] | number | undefined>

/**
 * A copy of `headers` without the hop-by-hop fields and without the fields that the
 * `Connection` header names (RFC 9110 section 7.6.1). Names are expected in lowercase.
 */
export function stripHopByHop<T extends HeaderMap>(headers: T): T {
  const named = connectionTokens(headers['connection'])
  const out: HeaderMap = Object.create(null) as HeaderMap
  for (const name of Object.keys(headers)) {
    if (HOP_BY_HOP.has(name) || named.has(name)) continue
    out[name] = headers[name]
  }
  return out as T
}

/** The lowercase field names listed in a `Connection` header value. */
function connectionTokens(value: string | string[] | number | undefined): ReadonlySet<string> {
  const tokens = new Set<string>()
  if (value === undefined || typeof value === 'number') return tokens
  for (const line of Array.isArray(value) ? value : [value]) {
    for (const token of line.split(',')) {
      const name = token.trim().toLowerCase()
      if (name !== '') tokens.add(name)
    }
  }
  return tokens
}

/**
 * The client's request headers as they go upstream: without hop-by-hop fields and without
 * `Expect`. Node's server already answered `100-continue` on the client's hop (RFC 9110 section
 * 10.1.1 lets a proxy do so), the body is streaming by the time the peer is chosen, and undici
 * refuses the field.
 */
export function stripForUpstream<T extends HeaderMap>(headers: T): T {
  const out = stripHopByHop(headers)
  delete out['expect']
  return out
}
