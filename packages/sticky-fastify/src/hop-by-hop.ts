import { hopByHopNames } from 'sticky-core'

/** A header map as Node and undici hand it over: lowercase names. */
export type HeaderMap = Record<string, string | string[] | number | undefined>

/**
 * A copy of `headers` without the hop-by-hop fields and without the fields that the `Connection`
 * header names (sticky-core's `hopByHopNames`, RFC 9110 section 7.6.1), nor `Trailer`:
 * `@fastify/reply-from` does not relay a trailer section, so announcing one would be false. Names
 * are expected in lowercase.
 */
export function stripHopByHop<T extends HeaderMap>(headers: T): T {
  const connection = headers['connection']
  const drop = hopByHopNames(typeof connection === 'number' ? undefined : connection)
  drop.add('trailer')
  const out: HeaderMap = Object.create(null) as HeaderMap
  for (const name of Object.keys(headers)) {
    if (!drop.has(name)) out[name] = headers[name]
  }
  return out as T
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
