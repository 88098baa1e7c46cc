/**
 * The response-head rules every adapter applies before a peer's answer reaches the client, written
 * once. A peer is trusted to route to, not to write the client's wire: whatever it sends, the
 * client's connection must stay valid HTTP/1.1. A runtime's own parser decides what a head is; these
 * rules decide what of it may be passed on.
 *
 * @packageDocumentation
 */
import { isToken } from './field-syntax'

// RFC 9110 section 5.5 (field-vchar, SP, HTAB, obs-text) and RFC 9112 section 4 (the reason phrase):
// anything else (a control byte, CR, LF, NUL, DEL, a character beyond latin-1) must not be written.
const NOT_FIELD_TEXT = /[^\t\x20-\x7e\x80-\xff]/

/**
 * Whether a response field may be relayed as it is: a token for a name, and a value of visible
 * characters, spaces, tabs and obs-text only. A field that fails is left out (nginx drops a field
 * line it cannot parse): one bad field is no reason for a 502, and it must never reach the client.
 *
 * @example
 * ```ts
 * relayableField('x-request-id', 'abc') // true
 * relayableField('x-evil', 'a\r\nSet-Cookie: x=1') // false
 * ```
 */
export function relayableField(name: string, value: string): boolean {
  return isToken(name) && !NOT_FIELD_TEXT.test(value)
}

/**
 * Whether a peer's final status may be relayed: an integer from 200 to 599. RFC 9110 section 15 puts
 * every valid status code between 100 and 599, and a 1xx is interim, never the answer; a peer that
 * answers `600` or `999` broke the protocol (`peer-protocol-error`), as Fastify and fetch refuse such
 * a status too.
 *
 * @example
 * ```ts
 * relayableStatus(404) // true
 * relayableStatus(999) // false
 * ```
 */
export function relayableStatus(status: number): boolean {
  return Number.isInteger(status) && status >= 200 && status <= 599
}

/**
 * Whether a request body is still on its way: fewer bytes taken from the client than its
 * `Content-Length` declares, or, without a usable one, its end not yet read. A close the peer makes
 * then ends an upload (`peer-closed-during-upload`); a body taken whole (a small POST, even while its
 * last write is in flight) is not one, and a peer that resets it dropped a request it had in full.
 *
 * @param taken - bytes of the body taken from the client so far
 * @param declared - the request's {@link contentLength}
 * @param ended - whether the end of the client's body has been read
 *
 * @example
 * ```ts
 * uploadUnderWay(4, 4, false) // false
 * uploadUnderWay(65_536, 1_048_576, false) // true
 * ```
 */
export function uploadUnderWay(taken: number, declared: number | 'invalid' | undefined, ended: boolean): boolean {
  if (ended) return false
  return typeof declared !== 'number' || taken < declared
}

/**
 * Whether a response can have content at all (RFC 9110 section 6.4.1): not one to a `HEAD` request,
 * and not a `1xx`, `204` or `304`, whatever its `Content-Length` says (a `304`'s describes the `200`
 * it stands for). Such an answer is complete at the end of its head, and a proxy ends the client's
 * response there instead of waiting for, or counting, body bytes.
 *
 * @example
 * ```ts
 * answerHasContent('GET', 304) // false
 * answerHasContent('HEAD', 200) // false
 * answerHasContent('GET', 200) // true
 * ```
 */
export function answerHasContent(method: string, status: number): boolean {
  return method !== 'HEAD' && status >= 200 && status !== 204 && status !== 304
}

/**
 * Whether a relayed head with this status may carry `Content-Length`: not a `1xx` or a `204`, which
 * RFC 9110 section 8.6 says a server MUST NOT send it in (a `304` may: it describes the `200`). A
 * peer's field on such a head is dropped, so that no recipient reads a body length into a response
 * that has no body.
 *
 * @example
 * ```ts
 * contentLengthAllowed(204) // false
 * contentLengthAllowed(304) // true
 * ```
 */
export function contentLengthAllowed(status: number): boolean {
  return status >= 200 && status !== 204
}

/**
 * Whether a peer's reason phrase may be relayed; when not, relay the status with the standard phrase
 * (or none). The phrase carries no meaning (RFC 9112 section 4), so a bad one never costs a 502.
 */
export function relayableReason(reason: string): boolean {
  return !NOT_FIELD_TEXT.test(reason)
}

/**
 * The body length a peer's `Content-Length` field value(s) announce, or `'invalid'`. RFC 9110
 * section 8.6 allows a list of identical values (`5, 5`), which means one; anything else (a sign, an
 * empty value, differing values, a number no runtime can count to) makes the framing unknowable, and
 * the answer is the peer's protocol error (`peer-protocol-error`), as nginx refuses it with 502.
 * `undefined` when no value is given.
 *
 * @example
 * ```ts
 * contentLength('12') // 12
 * contentLength(['5', '5, 5']) // 5
 * contentLength('+2') // 'invalid'
 * ```
 */
export function contentLength(values: string | readonly string[] | null | undefined): number | 'invalid' | undefined {
  if (values === null || values === undefined) return undefined
  let found: number | undefined
  for (const line of typeof values === 'string' ? [values] : values) {
    for (const member of line.split(',')) {
      const text = member.trim()
      // 15 digits stay below Number.MAX_SAFE_INTEGER: every runtime counts such a body exactly.
      if (!/^\d{1,15}$/.test(text)) return 'invalid'
      const length = Number(text)
      if (found !== undefined && found !== length) return 'invalid'
      found = length
    }
  }
  return found
}
