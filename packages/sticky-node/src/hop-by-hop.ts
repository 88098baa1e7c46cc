/**
 * Fields that describe one connection rather than the message, which an intermediary must not
 * forward (RFC 9110 section 7.6.1): `Connection` itself, the fields it names, and the ones known
 * to be connection-specific whether named or not. `Proxy-Authenticate` / `Proxy-Authorization`
 * are not in RFC 9110's list (they concern a forward proxy); they pass untouched.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
])

/** The lower-cased field names listed in every `Connection` header of a raw header list. */
export function connectionTokens(rawHeaders: readonly string[]): Set<string> {
  const tokens = new Set<string>()
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() !== 'connection') continue
    for (const token of (rawHeaders[i + 1] ?? '').split(',')) {
      const name = token.trim().toLowerCase()
      if (name !== '') tokens.add(name)
    }
  }
  return tokens
}

/**
 * `rawHeaders` (the flat `[name, value, ...]` list of `node:http`) without hop-by-hop fields,
 * without the fields named in `Connection`, and without the lower-cased names in `drop`. Names
 * keep their case and order, and repeated fields stay repeated (never merged).
 */
export function endToEndHeaders(rawHeaders: readonly string[], drop: ReadonlySet<string> = new Set()): string[] {
  const named = connectionTokens(rawHeaders)
  const kept: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? ''
    const lower = name.toLowerCase()
    if (HOP_BY_HOP.has(lower) || named.has(lower) || drop.has(lower)) continue
    kept.push(name, rawHeaders[i + 1] ?? '')
  }
  return kept
}
