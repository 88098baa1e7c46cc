import { StickyConfigError } from './errors'
import { assertCookieDomain, assertCookieName, assertCookiePath, assertCookieValue, MAX_COOKIE_PAIR_LENGTH } from './cookie-syntax'
import { formatHttpDate } from './http-date'

/** `SameSite` attribute values (RFC 6265bis section 5.6.7). */
export type SameSite = 'Strict' | 'Lax' | 'None'

/** Attributes of a `Set-Cookie` header (RFC 6265bis section 4.1.1). */
export interface CookieAttributes {
  /**
   * `Domain=` (RFC 6265bis section 4.1.2.3; nginx `domain=`): the hosts the cookie is sent to besides the
   * one that set it. Emitted as given, a leading dot included. Absent: only the origin host.
   */
  domain?: string | undefined
  /** `Path=` (RFC 6265bis section 4.1.2.4; nginx `path=`). Absent: the user agent's default path. */
  path?: string | undefined
  /**
   * Absolute expiry; rendered as IMF-fixdate (RFC 6265bis section 4.1.2.1). Years 1601 to 9999: user
   * agents fail to parse an earlier cookie-date (RFC 6265 section 5.1.1) and an IMF-fixdate has four
   * digits. A past date (before 1970 included) is valid: it deletes the cookie. Absent: no `Expires`.
   */
  expires?: Date | undefined
  /**
   * Seconds; rendered as `Max-Age` (RFC 6265bis section 4.1.2.2). A non-negative safe integer; `0` deletes
   * the cookie. User agents cap it at 400 days. Absent: no `Max-Age`.
   */
  maxAge?: number | undefined
  /** `Secure` (RFC 6265bis section 4.1.2.5; nginx `secure`). @default false */
  secure?: boolean | undefined
  /** `HttpOnly` (RFC 6265bis section 4.1.2.6; nginx `httponly`). @default false */
  httpOnly?: boolean | undefined
  /** `SameSite=` (RFC 6265bis section 4.1.2.7; nginx `samesite=`). `'None'` requires `secure`. Absent: none sent. */
  sameSite?: SameSite | undefined
  /** `Partitioned` (CHIPS, draft-cutler-httpbis-partitioned-cookies). Requires `secure`. @default false */
  partitioned?: boolean | undefined
}

/**
 * A `Set-Cookie` header value cut around its `Expires` attribute, so that a balancer can validate and
 * render the constant parts once and splice in a per-request expiry with {@link joinCookieParts}.
 */
export interface SetCookieParts {
  /** `name=value`. */
  readonly head: string
  /** The attributes that precede `Expires`: `; Domain=...; Path=...`, or `''`. */
  readonly beforeExpires: string
  /** The attributes that follow `Expires`: `; Max-Age=...; Secure; HttpOnly; SameSite=...; Partitioned`, or `''`. */
  readonly afterExpires: string
}

/**
 * Returns the value of the first cookie-pair named exactly `name` (case-sensitive) in a `Cookie` request
 * header (RFC 6265bis section 5.7 parsing, as nginx's sticky module reads its cookie), or `undefined`.
 *
 * Lenient, as request input must be: pairs are split on `;`, optional whitespace (SP, HTAB) around names
 * and values is trimmed, a pair without `=` is skipped, and one pair of surrounding DQUOTEs is stripped
 * from the value. Percent-escapes are not decoded: the balancer compares the raw value with the values
 * it issued. It never throws (a non-string header or an empty name gives `undefined`), runs in time
 * linear in the header's length, and allocates only the returned value.
 */
export function parseCookie(header: string | null | undefined, name: string): string | undefined {
  if (typeof header !== 'string' || typeof name !== 'string' || name.length === 0) return undefined
  const length = header.length
  let pos = 0
  // The next `=` at or after `pos`; kept across pairs so that `a;b;c;...=` is not rescanned per pair.
  let eq = -1
  while (pos < length) {
    if (eq < pos) {
      eq = header.indexOf('=', pos)
      if (eq === -1) return undefined
    }
    let end = header.indexOf(';', pos)
    if (end === -1) end = length
    if (eq < end) {
      let nameStart = pos
      while (nameStart < eq && isOptionalWhitespace(header.charCodeAt(nameStart))) nameStart++
      let nameEnd = eq
      while (nameEnd > nameStart && isOptionalWhitespace(header.charCodeAt(nameEnd - 1))) nameEnd--
      if (nameEnd - nameStart === name.length && header.startsWith(name, nameStart)) {
        let valueStart = eq + 1
        while (valueStart < end && isOptionalWhitespace(header.charCodeAt(valueStart))) valueStart++
        let valueEnd = end
        while (valueEnd > valueStart && isOptionalWhitespace(header.charCodeAt(valueEnd - 1))) valueEnd--
        if (valueEnd - valueStart >= 2 && header.charCodeAt(valueStart) === 0x22 && header.charCodeAt(valueEnd - 1) === 0x22) {
          valueStart++
          valueEnd--
        }
        return header.slice(valueStart, valueEnd)
      }
    }
    pos = end + 1
  }
  return undefined
}

/**
 * Builds a complete `Set-Cookie` header value (RFC 6265bis section 4.1.1), attributes in this order:
 * `name=value; Domain=...; Path=...; Expires=...; Max-Age=...; Secure; HttpOnly; SameSite=...; Partitioned`.
 *
 * Strict, as configuration must be: it throws rather than emit anything a user agent would reject or
 * misread, so the result never contains CR, LF, NUL or a `;` inside the value or an attribute.
 *
 * @throws StickyConfigError naming the attribute, for a name outside `token`, a value outside
 *   `cookie-octet`s (see `assertCookieValue`), an invalid domain or path, an invalid or out-of-range
 *   `expires`, a `maxAge` that is not a non-negative safe integer, an unknown `sameSite`, a non-boolean
 *   flag, `SameSite=None` or `partitioned` without `secure`, a `__Secure-` name without `secure`, a
 *   `__Host-` name without `secure`, with a `domain` or with a `path` other than `/` (RFC 6265bis section
 *   4.1.3; prefixes match case-insensitively), or a name and value longer than 4096 characters together.
 */
export function serializeCookie(name: string, value: string, attributes?: CookieAttributes): string {
  const parts = cookieParts(name, value, attributes, '')
  const expires = attributes?.expires
  if (expires === undefined) return parts.head + parts.beforeExpires + parts.afterExpires
  return `${parts.head}${parts.beforeExpires}; Expires=${formatHttpDate(expiresTime(expires, 'expires'))}${parts.afterExpires}`
}

/**
 * Validates a cookie as {@link serializeCookie} does and returns it cut around `Expires`, for a caller
 * that renders the same cookie on many requests with an expiry computed per request.
 * `joinCookieParts(serializeCookieParts(n, v, a), e)` equals `serializeCookie(n, v, { ...a, expires: new Date(e) })`.
 *
 * @param attributes - as for {@link serializeCookie}, but without `expires`: pass it to {@link joinCookieParts}.
 * @param scope - prefixed to the option named in errors, e.g. `'cookie'` gives `cookie.path`.
 * @throws StickyConfigError as {@link serializeCookie} does, and when `attributes.expires` is given.
 */
export function serializeCookieParts(name: string, value: string, attributes?: Omit<CookieAttributes, 'expires'>, scope?: string): SetCookieParts {
  const prefix = scope === undefined || scope === '' ? '' : `${scope}.`
  if (attributes !== undefined && attributes !== null && (attributes as CookieAttributes).expires !== undefined) {
    throw new StickyConfigError(`${prefix}expires`, (attributes as CookieAttributes).expires, 'an expiry is per request: pass it to joinCookieParts')
  }
  return cookieParts(name, value, attributes, prefix)
}

/**
 * Renders a `Set-Cookie` header value from {@link serializeCookieParts}, with `Expires` set to the instant
 * `expires` (milliseconds since the epoch, e.g. `now() + maxAge * 1000`) or without `Expires`.
 *
 * @throws RangeError when `expires` is not a finite instant between years 0000 and 9999 (see
 *   `formatHttpDate`); a caller on the request path should bound its clock and lifetime at configuration.
 */
export function joinCookieParts(parts: SetCookieParts, expires?: number): string {
  if (expires === undefined) return parts.head + parts.beforeExpires + parts.afterExpires
  return `${parts.head}${parts.beforeExpires}; Expires=${formatHttpDate(expires)}${parts.afterExpires}`
}

/** Earliest `Expires` a user agent parses: 1601-01-01T00:00:00Z (RFC 6265 section 5.1.1). */
const EARLIEST_EXPIRES = -11_644_473_600_000
/** Latest `Expires` an IMF-fixdate can spell: 9999-12-31T23:59:59.999Z. */
const LATEST_EXPIRES = 253_402_300_799_999

const SAME_SITE_VALUES: readonly SameSite[] = ['Strict', 'Lax', 'None']

function cookieParts(name: string, value: string, attributes: Omit<CookieAttributes, 'expires'> | undefined, prefix: string): SetCookieParts {
  assertCookieName(name, `${prefix}name`)
  assertCookieValue(value, `${prefix}value`)
  if (name.length + value.length > MAX_COOKIE_PAIR_LENGTH) {
    throw new StickyConfigError(`${prefix}value`, value, `name and value exceed ${MAX_COOKIE_PAIR_LENGTH} characters together (RFC 6265bis section 5.7)`)
  }
  if (attributes !== undefined && (typeof attributes !== 'object' || attributes === null)) {
    throw new StickyConfigError(`${prefix}attributes`, attributes, 'expected an object')
  }
  const { domain, path, maxAge, sameSite } = attributes ?? {}
  const secure = flag(attributes?.secure, `${prefix}secure`)
  const httpOnly = flag(attributes?.httpOnly, `${prefix}httpOnly`)
  const partitioned = flag(attributes?.partitioned, `${prefix}partitioned`)

  let beforeExpires = ''
  if (domain !== undefined) {
    assertCookieDomain(domain, `${prefix}domain`)
    beforeExpires += `; Domain=${domain}`
  }
  if (path !== undefined) {
    assertCookiePath(path, `${prefix}path`)
    beforeExpires += `; Path=${path}`
  }

  let afterExpires = ''
  if (maxAge !== undefined) {
    if (typeof maxAge !== 'number' || !Number.isSafeInteger(maxAge) || maxAge < 0) {
      throw new StickyConfigError(`${prefix}maxAge`, maxAge, 'Max-Age is a non-negative integer number of seconds')
    }
    afterExpires += `; Max-Age=${String(maxAge)}`
  }
  if (secure) afterExpires += '; Secure'
  if (httpOnly) afterExpires += '; HttpOnly'
  if (sameSite !== undefined) {
    const known = SAME_SITE_VALUES.find((v) => v === sameSite)
    if (known === undefined) throw new StickyConfigError(`${prefix}sameSite`, sameSite, "expected 'Strict', 'Lax' or 'None'")
    if (known === 'None' && !secure) {
      throw new StickyConfigError(`${prefix}sameSite`, sameSite, 'SameSite=None requires secure: user agents drop it otherwise (RFC 6265bis section 5.7)')
    }
    afterExpires += `; SameSite=${known}`
  }
  if (partitioned) {
    if (!secure) throw new StickyConfigError(`${prefix}partitioned`, true, 'Partitioned requires secure (CHIPS)')
    afterExpires += '; Partitioned'
  }

  const lowerPrefix = name.slice(0, 9).toLowerCase()
  if (lowerPrefix.startsWith('__secure-') && !secure) {
    throw new StickyConfigError(
      `${prefix}secure`,
      attributes?.secure,
      `the __Secure- prefix of ${JSON.stringify(name)} requires secure (RFC 6265bis section 4.1.3.1)`,
    )
  }
  if (lowerPrefix.startsWith('__host-')) {
    if (!secure) {
      throw new StickyConfigError(
        `${prefix}secure`,
        attributes?.secure,
        `the __Host- prefix of ${JSON.stringify(name)} requires secure (RFC 6265bis section 4.1.3.2)`,
      )
    }
    if (domain !== undefined) {
      throw new StickyConfigError(`${prefix}domain`, domain, `the __Host- prefix of ${JSON.stringify(name)} forbids a domain (RFC 6265bis section 4.1.3.2)`)
    }
    if (path !== '/') {
      throw new StickyConfigError(`${prefix}path`, path, `the __Host- prefix of ${JSON.stringify(name)} requires path '/' (RFC 6265bis section 4.1.3.2)`)
    }
  }

  return { head: `${name}=${value}`, beforeExpires, afterExpires }
}

function flag(value: unknown, option: string): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw new StickyConfigError(option, value, 'expected a boolean')
  return value
}

/** The time of a valid `Expires` date, checked with `Date`'s own brand check so that a Date from another realm passes. */
function expiresTime(expires: unknown, option: string): number {
  let time = Number.NaN
  if (typeof expires === 'object' && expires !== null) {
    try {
      time = Date.prototype.getTime.call(expires)
    } catch {
      throw new StickyConfigError(option, expires, 'expected a Date')
    }
  } else {
    throw new StickyConfigError(option, expires, 'expected a Date')
  }
  if (Number.isNaN(time)) throw new StickyConfigError(option, expires, 'invalid Date')
  if (time < EARLIEST_EXPIRES || time > LATEST_EXPIRES) {
    throw new StickyConfigError(option, expires, 'Expires must fall in the years 1601 to 9999 (RFC 6265 section 5.1.1, IMF-fixdate)')
  }
  return time
}

function isOptionalWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09
}
