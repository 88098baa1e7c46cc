import { connectionTokens, isHopByHopHeader } from 'sticky-core'

/** Every `Connection` line of a raw header list: node:http keeps repeated fields apart there. */
function connectionLines(rawHeaders: readonly string[]): string[] {
  const lines: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === 'connection') lines.push(rawHeaders[i + 1] ?? '')
  }
  return lines
}

/**
 * `rawHeaders` (the flat `[name, value, ...]` list of `node:http`) without hop-by-hop fields (the
 * fixed ones of sticky-core's `isHopByHopHeader` and those `Connection` names, RFC 9110 section
 * 7.6.1) and without the lower-cased names in `drop`. Names keep their case and order, and repeated
 * fields stay repeated (never merged), which node:http's parsed `headers` would not give. `Trailer`
 * passes: this adapter relays trailers.
 */
export function endToEndHeaders(rawHeaders: readonly string[], drop: ReadonlySet<string> = new Set()): string[] {
  const named = connectionTokens(connectionLines(rawHeaders))
  const kept: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? ''
    const lower = name.toLowerCase()
    // HTTP/2 pseudo-header fields (RFC 9113 section 8.3) have no place in an HTTP/1.1 message.
    if (lower.startsWith(':') || isHopByHopHeader(lower) || named.has(lower) || drop.has(lower)) continue
    kept.push(name, rawHeaders[i + 1] ?? '')
  }
  return kept
}
