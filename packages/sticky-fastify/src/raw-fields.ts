/**
 * The `[name, value]` pairs of node:http's flat `rawHeaders` list (`[name, value, ...]`), for
 * sticky-core's `requestRefusal`: every field line apart, so that a second `Host` line is seen
 * (node:http's parsed `headers` keep one).
 */
export function* fieldPairs(rawHeaders: readonly string[]): Generator<readonly [string, string]> {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) yield [rawHeaders[i] ?? '', rawHeaders[i + 1] ?? '']
}
