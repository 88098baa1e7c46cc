/**
 * The syntax of header fields, written once for every rule that reads or writes one: tokens (field
 * names), authorities (`Host`, `X-Forwarded-Host`, a health check's `Host`), the lines of a field, and
 * the names an option may give the fields the proxy writes itself.
 *
 * @packageDocumentation
 */
import { StickyConfigError } from './errors'
import { isHopByHopHeader } from './hop-by-hop'

/** A header's field value(s) as received: one line, repeated lines, or absent. */
export type FieldLines = string | readonly string[] | null | undefined

// RFC 9110 section 5.6.2.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// RFC 3986 section 3.2.2, without ',': every list-valued field (X-Forwarded-Host first) splits on it,
// so an authority with a comma would be read as two by the next hop.
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+;=%-]+)(?::[0-9]{1,5})?$/
/** Longer than any real host name (RFC 1035: 253) with a port. */
const MAX_AUTHORITY = 255
/** Longer than any field name an operator would choose, short enough for every parser's limits. */
const MAX_FIELD_NAME = 256

/**
 * Fields no option may have the proxy write: they route, frame, encode or authenticate the message, carry
 * the pin, or are the forwarding fields the proxy states itself (and every hop-by-hop field).
 */
const RESERVED_FIELDS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'cookie',
  'set-cookie',
  'authorization',
  'expect',
  'forwarded',
])

/** `token` of RFC 9110 section 5.6.2: a field name, or a parameter value that needs no quotes. */
export function isToken(text: string): boolean {
  return TOKEN.test(text)
}

/** `host[:port]` with a reg-name, an IPv4 or a bracketed IPv6 host (RFC 3986 section 3.2), no comma. */
export function isAuthority(text: string): boolean {
  return text.length <= MAX_AUTHORITY && AUTHORITY.test(text)
}

/** Every line of a field, none when it is absent. */
export function linesOf(value: FieldLines): readonly string[] {
  if (value === null || value === undefined) return []
  return typeof value === 'string' ? [value] : value
}

/**
 * Reads an option that names a field the proxy writes (the pin's header carrier, the request id): a
 * token of at most 256 characters that is no reserved field, hop-by-hop field or `X-Forwarded-*` field.
 *
 * @param value - the option as given
 * @param option - the option's name in errors
 * @param example - an example name for the error message
 * @throws StickyConfigError naming `option` and `value`
 */
export function resolveFieldName(value: unknown, option: string, example: string): string {
  if (typeof value !== 'string' || !TOKEN.test(value) || value.length > MAX_FIELD_NAME) {
    throw new StickyConfigError(option, value, `expected a field name (an RFC 9110 token of at most ${MAX_FIELD_NAME} characters, e.g. '${example}')`)
  }
  const lower = value.toLowerCase()
  if (RESERVED_FIELDS.has(lower) || isHopByHopHeader(lower) || lower.startsWith('x-forwarded-')) {
    throw new StickyConfigError(option, value, 'this field routes, frames or authenticates the message, or the proxy writes it itself: name another header')
  }
  return value
}
