/**
 * Fields that describe one connection rather than the message, so an intermediary must not forward
 * them (RFC 9110 section 7.6.1), whether or not `Connection` names them. `Proxy-Authenticate` and
 * `Proxy-Authorization` are here too: RFC 9110 sections 11.7.1 and 11.7.2 scope them to the next hop,
 * and a gateway that did not ask for proxy credentials must not pass them on to a peer. `Trailer` is
 * not: it describes the message, and an adapter that cannot relay trailers drops it itself.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
])

/**
 * End-to-end fields that frame or route the message. A `Connection` header that names them is not
 * obeyed: dropping `Content-Length` would leave the body unframed for the next hop, which would then
 * read it as a second request (request smuggling), and dropping `Host` would send the request to the
 * peer's default site. RFC 9110 section 7.6.1 lets a sender name only connection options and
 * hop-by-hop fields there; these two never are.
 */
const END_TO_END: ReadonlySet<string> = new Set(['content-length', 'host'])

/** The value of a `Connection` header as runtimes hand it over: one line, several, or none. */
export type ConnectionHeader = string | readonly string[] | null | undefined

/**
 * Whether a field is hop-by-hop whatever the message says: `Connection`, `Keep-Alive`,
 * `Proxy-Connection`, `TE`, `Transfer-Encoding`, `Upgrade`, `Proxy-Authenticate` and
 * `Proxy-Authorization` (RFC 9110 sections 7.6.1, 11.7.1, 11.7.2). Fields a `Connection` header names
 * are hop-by-hop as well; see {@link connectionTokens}.
 *
 * @param name - a field name in any case
 */
export function isHopByHopHeader(name: string): boolean {
  return HOP_BY_HOP.has(name.toLowerCase())
}

/**
 * The field names a `Connection` header lists (RFC 9110 section 7.6.1), lower-cased and trimmed, empty
 * list elements skipped. Several lines count as one comma-separated list (RFC 9110 section 5.3).
 * `Content-Length` and `Host` are never listed, even when named: they frame and route the message, and
 * a client that names them must not make a proxy forward an unframed body (request smuggling) or a
 * request without its host. Never throws: the value comes from the wire.
 *
 * @param value - every `Connection` line of one message, or `null`/`undefined` when it has none
 */
export function connectionTokens(value: ConnectionHeader): Set<string> {
  const tokens = new Set<string>()
  if (value === null || value === undefined) return tokens
  for (const line of typeof value === 'string' ? [value] : value) {
    for (const element of line.split(',')) {
      const name = element.trim().toLowerCase()
      if (name !== '' && !END_TO_END.has(name)) tokens.add(name)
    }
  }
  return tokens
}

/**
 * Every lower-cased field name that must not leave this hop for a message with the given `Connection`
 * header: the fixed set of {@link isHopByHopHeader} plus the names {@link connectionTokens} finds
 * (never `Content-Length` or `Host`).
 * The set is new on each call, so an adapter may add the names it drops for its own reasons.
 *
 * @param connection - every `Connection` line of the message, or `null`/`undefined` when it has none
 */
export function hopByHopNames(connection: ConnectionHeader): Set<string> {
  const names = connectionTokens(connection)
  for (const name of HOP_BY_HOP) names.add(name)
  return names
}

const NO_NAMES: ReadonlySet<string> = new Set()

/** A `Connection` line of `keep-alive` alone, what nearly every kept-alive message carries. */
const KEEP_ALIVE_ONLY = /^[ \t]*keep-alive[ \t]*$/i

/**
 * The lower-cased field names a `Connection` header adds to the fixed set of {@link isHopByHopHeader}:
 * {@link connectionTokens} without the fixed names. For a message with no `Connection` header, or one
 * line of `keep-alive` alone, no set is built: the same empty set is returned, so a proxy's check of
 * nearly every message allocates nothing. Never throws.
 *
 * A field is dropped at this hop when `isHopByHopHeader(name) || connectionListed(value).has(lower)`,
 * which is what {@link hopByHopNames} holds in one set.
 *
 * @param value - every `Connection` line of one message, or `null`/`undefined` when it has none
 * @returns a set the caller must not change (it may be shared)
 */
export function connectionListed(value: ConnectionHeader): ReadonlySet<string> {
  if (value === null || value === undefined) return NO_NAMES
  const single = typeof value === 'string' ? value : value.length === 1 ? value[0] : undefined
  if (single !== undefined && KEEP_ALIVE_ONLY.test(single)) return NO_NAMES
  const names = connectionTokens(value)
  for (const name of HOP_BY_HOP) names.delete(name)
  return names.size === 0 ? NO_NAMES : names
}
