import { linesOf, type FieldLines } from './field-syntax'

/**
 * Request IDs: one id per request, passed to the peer and back to the client, so that a log line
 * of the proxy, of the peer and of the client name the same request. The rule is written once
 * here; each adapter injects its runtime's random UUID generator.
 *
 * @packageDocumentation
 */

/** The header `requestId: true` uses, as nginx's `$request_id` setups and Heroku's router name it. */
export const DEFAULT_REQUEST_ID_HEADER = 'X-Request-Id'

/** The longest incoming id passed on; longer ones are replaced (a header is no place for a payload). */
export const MAX_REQUEST_ID_LENGTH = 200

/**
 * Whether an incoming request id may be passed on: 1 to 200 characters of visible ASCII (no
 * spaces, no control bytes, nothing a log line or a header could be split on).
 */
export function isSaneRequestId(value: string): boolean {
  if (value.length === 0 || value.length > MAX_REQUEST_ID_LENGTH) return false
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x21 || c > 0x7e) return false
  }
  return true
}

/**
 * The id of a request: the incoming one when a trusted hop sent exactly one line of it and
 * {@link isSaneRequestId} holds, otherwise a new one from `generate` (an untrusted client could
 * otherwise choose ids to collide with, or forge, another request's log lines).
 *
 * @example
 * ```ts
 * import { requestIdFor } from 'sticky-core'
 *
 * const generate = () => crypto.randomUUID()
 * console.log(requestIdFor('edge-42', true, generate)) // edge-42
 * console.log(requestIdFor('edge-42', false, generate) !== 'edge-42') // true
 * ```
 *
 * @param incoming - the request-id header's value(s), as received
 * @param trusted - whether the client's connection is a trusted proxy (`parseTrustList`)
 * @param generate - a new id, such as `crypto.randomUUID()`
 */
export function requestIdFor(incoming: FieldLines, trusted: boolean, generate: () => string): string {
  if (trusted) {
    const lines = linesOf(incoming)
    if (lines.length === 1) {
      const value = (lines[0] as string).trim()
      if (isSaneRequestId(value)) return value
    }
  }
  return generate()
}
