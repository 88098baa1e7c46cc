import { connectionListed, hopByHopNames } from 'sticky-core'

/** A header map as Node and undici hand it over: lowercase names. */
export type HeaderMap = Record<string, string | string[] | number | undefined>

/**
 * What never leaves this hop whatever the `Connection` header says: sticky-core's fixed hop-by-hop
 * fields, and `Trailer`, as `@fastify/reply-from` does not relay a trailer section (announcing one
 * would be false).
 */
const ALWAYS: ReadonlySet<string> = new Set([...hopByHopNames(undefined), 'trailer'])

/** What `stripForUpstream` drops besides the hop-by-hop fields. */
const EXPECT: ReadonlySet<string> = new Set(['expect'])

/**
 * A copy of `headers` without the hop-by-hop fields and without the fields that the `Connection`
 * header names (sticky-core's `hopByHopNames`, RFC 9110 section 7.6.1), nor `Trailer`, nor the
 * names in `drop`. Names are expected in lowercase.
 *
 * The copy is a plain object filled in one pass, never one with fields deleted: V8 turns an object
 * that loses a field into a slow hash map, which every later reader of these headers (Fastify,
 * undici, node:http) would pay for. A field named `__proto__` cannot be a key of a plain object; no
 * parser of Node's hands one over.
 */
export function copyEndToEnd<T extends HeaderMap>(headers: T, drop?: ReadonlySet<string>): T {
  const connection = headers['connection']
  const listed = connectionListed(typeof connection === 'number' ? undefined : connection)
  const out: HeaderMap = {}
  for (const name of Object.keys(headers)) {
    if (ALWAYS.has(name) || listed.has(name) || drop?.has(name) === true || name === '__proto__') continue
    out[name] = headers[name]
  }
  return out as T
}

/**
 * A copy of `headers` without the hop-by-hop fields and without the fields that the `Connection`
 * header names, nor `Trailer` (see {@link copyEndToEnd}). Names are expected in lowercase.
 */
export function stripHopByHop<T extends HeaderMap>(headers: T): T {
  return copyEndToEnd(headers)
}

/**
 * The client's request headers as they go upstream: without hop-by-hop fields and without
 * `Expect`. Node's server already answered `100-continue` on the client's hop (RFC 9110 section
 * 10.1.1 lets a proxy do so), the body is streaming by the time the peer is chosen, and undici
 * refuses the field.
 *
 * @param drop - names to leave out as well, `expect` among them (the default is `expect` alone)
 */
export function stripForUpstream<T extends HeaderMap>(headers: T, drop: ReadonlySet<string> = EXPECT): T {
  return copyEndToEnd(headers, drop)
}
