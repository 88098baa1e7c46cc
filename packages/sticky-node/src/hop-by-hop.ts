import { connectionListed, isHopByHopHeader } from 'sticky-core'

const NONE: ReadonlySet<string> = new Set()

/**
 * The names the `Connection` lines of a raw header list add to the fixed hop-by-hop set (node:http
 * keeps repeated fields apart there).
 */
function connectionNamed(rawHeaders: readonly string[]): ReadonlySet<string> {
  let lines: string | string[] | undefined
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? ''
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue
    const line = rawHeaders[i + 1] ?? ''
    lines = lines === undefined ? line : typeof lines === 'string' ? [lines, line] : [...lines, line]
  }
  return connectionListed(lines)
}

/**
 * `rawHeaders` (the flat `[name, value, ...]` list of `node:http`) without hop-by-hop fields (the
 * fixed ones of sticky-core's `isHopByHopHeader` and those `Connection` names, RFC 9110 section
 * 7.6.1) and without the lower-cased names in `drop`. Names keep their case and order, and repeated
 * fields stay repeated (never merged), which node:http's parsed `headers` would not give. `Trailer`
 * passes: this adapter relays trailers.
 */
export function endToEndHeaders(rawHeaders: readonly string[], drop: ReadonlySet<string> = NONE): string[] {
  const named = connectionNamed(rawHeaders)
  const kept: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? ''
    const lower = name.toLowerCase()
    // HTTP/2 pseudo-header fields (RFC 9113 section 8.3) have no place in an HTTP/1.1 message.
    if (lower.charCodeAt(0) === 58 /* : */ || isHopByHopHeader(lower) || named.has(lower) || drop.has(lower)) continue
    kept.push(name, rawHeaders[i + 1] ?? '')
  }
  return kept
}
