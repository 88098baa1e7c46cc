import { StickyConfigError } from './errors'

/**
 * Longest cookie name plus value a user agent stores, in octets (RFC 6265bis section 5.7:
 * a longer pair is ignored). Names and values here are ASCII, so octets are UTF-16 units.
 */
export const MAX_COOKIE_PAIR_LENGTH = 4096
/** Longest attribute value a user agent honours, in octets (RFC 6265bis section 5.7). */
export const MAX_COOKIE_ATTRIBUTE_LENGTH = 1024

/** `tchar` of RFC 9110 section 5.6.2: visible ASCII except the separators `"(),/:;<=>?@[\]{}`. */
function isTokenChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x21 || // !
    (c >= 0x23 && c <= 0x27) || // # $ % & '
    c === 0x2a || // *
    c === 0x2b || // +
    c === 0x2d || // -
    c === 0x2e || // .
    (c >= 0x5e && c <= 0x60) || // ^ _ `
    c === 0x7c || // |
    c === 0x7e // ~
  )
}

/** `cookie-octet` of RFC 6265 section 4.1.1: visible ASCII except DQUOTE, comma, semicolon, backslash. */
function isCookieOctet(c: number): boolean {
  return c === 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) || (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e)
}

/** `av-octet` of RFC 6265 section 4.1.1: any CHAR except CTLs or `;` (space is allowed). */
function isAttributeOctet(c: number): boolean {
  return (c >= 0x20 && c <= 0x3a) || (c >= 0x3c && c <= 0x7e)
}

function isLetterOrDigit(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)
}

function firstBadChar(s: string, allowed: (c: number) => boolean): number {
  for (let i = 0; i < s.length; i++) {
    if (!allowed(s.charCodeAt(i))) return i
  }
  return -1
}

function describeChar(s: string, at: number): string {
  const c = s.charCodeAt(at)
  const hex = `U+${c.toString(16).toUpperCase().padStart(4, '0')}`
  return c > 0x20 && c < 0x7f ? `'${s[at]}' (${hex})` : hex
}

function requireString(value: unknown, option: string): asserts value is string {
  if (typeof value !== 'string') throw new StickyConfigError(option, value, 'expected a string')
}

/**
 * Checks a cookie name: a non-empty RFC 9110 `token` (RFC 6265 section 4.1.1 `cookie-name`), i.e. visible
 * ASCII without separators, whitespace or control characters. Mirrors nginx's `name=` parameter.
 *
 * @param option - the option to name in the error, e.g. `cookie.name`.
 * @throws StickyConfigError when `name` is not such a token.
 */
export function assertCookieName(name: unknown, option: string): asserts name is string {
  requireString(name, option)
  if (name.length === 0) throw new StickyConfigError(option, name, 'a cookie name must not be empty')
  const bad = firstBadChar(name, isTokenChar)
  if (bad >= 0) {
    throw new StickyConfigError(option, name, `a cookie name is an RFC 9110 token; ${describeChar(name, bad)} at ${bad} is not allowed`)
  }
  if (name.length > MAX_COOKIE_PAIR_LENGTH) {
    throw new StickyConfigError(option, name, `longer than ${MAX_COOKIE_PAIR_LENGTH} characters`)
  }
}

/**
 * Checks a cookie value: zero or more `cookie-octet`s (RFC 6265 section 4.1.1), i.e. `%x21 / %x23-2B /
 * %x2D-3A / %x3C-5B / %x5D-7E`. No DQUOTE (the quoted form is not produced: `parseCookie`
 * would strip the quotes and the value would not round-trip), comma, semicolon, backslash, whitespace,
 * control or non-ASCII character. Percent-encode anything else before: nothing here decodes it.
 *
 * The empty value is valid, as in the RFC grammar (`name=` is how a cookie is cleared); a caller that
 * needs a value to identify something must reject `''` itself.
 *
 * @param option - the option to name in the error, e.g. `peers[2].route`.
 * @throws StickyConfigError when `value` contains anything outside that set.
 */
export function assertCookieValue(value: unknown, option: string): asserts value is string {
  requireString(value, option)
  const bad = firstBadChar(value, isCookieOctet)
  if (bad >= 0) {
    throw new StickyConfigError(option, value, `a cookie value is made of RFC 6265 cookie-octets; ${describeChar(value, bad)} at ${bad} is not allowed`)
  }
  if (value.length > MAX_COOKIE_PAIR_LENGTH) {
    throw new StickyConfigError(option, value, `longer than ${MAX_COOKIE_PAIR_LENGTH} characters`)
  }
}

/**
 * Checks a `Domain` attribute (RFC 6265bis section 4.1.2.3; nginx `domain=`): a host name of RFC 1034
 * labels (RFC 1123 letters, digits and inner hyphens, 1 to 63 each, at most 253 in all) or an IPv4
 * address. One leading dot is accepted, as nginx users write `.example.com`: user agents ignore it.
 * Internationalised names must be given in their ASCII (`xn--`) form; a trailing dot is rejected.
 *
 * @param option - the option to name in the error, e.g. `cookie.domain`.
 * @throws StickyConfigError when `domain` is not such a name.
 */
export function assertCookieDomain(domain: unknown, option: string): asserts domain is string {
  requireString(domain, option)
  const start = domain.charCodeAt(0) === 0x2e ? 1 : 0
  const length = domain.length - start
  if (length === 0) throw new StickyConfigError(option, domain, 'a domain must not be empty')
  if (length > 253) throw new StickyConfigError(option, domain, 'a domain has at most 253 characters (RFC 1034)')
  let labelStart = start
  for (let i = start; i <= domain.length; i++) {
    const c = i < domain.length ? domain.charCodeAt(i) : 0x2e
    if (c === 0x2e) {
      const labelLength = i - labelStart
      if (labelLength === 0) throw new StickyConfigError(option, domain, `empty label at ${i}`)
      if (labelLength > 63)
        throw new StickyConfigError(option, domain, `a label has at most 63 characters (RFC 1034), the one at ${labelStart} has ${labelLength}`)
      if (domain.charCodeAt(labelStart) === 0x2d || domain.charCodeAt(i - 1) === 0x2d) {
        throw new StickyConfigError(option, domain, `a label must not start or end with '-' (RFC 1123), see ${labelStart}`)
      }
      labelStart = i + 1
    } else if (!isLetterOrDigit(c) && c !== 0x2d) {
      throw new StickyConfigError(option, domain, `a domain is made of letters, digits, '-' and '.'; ${describeChar(domain, i)} at ${i} is not allowed`)
    }
  }
}

/**
 * Checks a `Path` attribute (RFC 6265bis section 4.1.2.4; nginx `path=`): it starts with `/` and is made of
 * `av-octet`s (any ASCII character but controls and `;`), at most 1024 of them.
 *
 * @param option - the option to name in the error, e.g. `cookie.path`.
 * @throws StickyConfigError when `path` is not such a path.
 */
export function assertCookiePath(path: unknown, option: string): asserts path is string {
  requireString(path, option)
  if (path.charCodeAt(0) !== 0x2f) throw new StickyConfigError(option, path, "a cookie path starts with '/'")
  const bad = firstBadChar(path, isAttributeOctet)
  if (bad >= 0) {
    throw new StickyConfigError(option, path, `a cookie path is made of ASCII without controls or ';'; ${describeChar(path, bad)} at ${bad} is not allowed`)
  }
  if (path.length > MAX_COOKIE_ATTRIBUTE_LENGTH) {
    throw new StickyConfigError(option, path, `longer than ${MAX_COOKIE_ATTRIBUTE_LENGTH} characters (RFC 6265bis section 5.7)`)
  }
}
