import type { BalancerOptions, FailoverRule, HashMode } from './balancer'
import { serializeCookieParts, type CookieAttributes } from './cookie'
import { durationIn } from './duration'
import { StickyConfigError } from './errors'
import type { HmacAlgorithm } from './hash'
import { resolveFieldName } from './field-syntax'
import { createTokenCodec, type TokenCodec } from './token'

/** `expires: 'max'`: 400 days, the longest lifetime user agents keep (RFC 6265bis section 5.6.1). */
export const MAX_COOKIE_LIFETIME: number = 400 * 24 * 60 * 60

/** nginx's default cookie name (`sticky cookie route`). */
export const DEFAULT_COOKIE_NAME = 'route'
/** nginx's default cookie path. */
export const DEFAULT_COOKIE_PATH = '/'

/** The options of `createBalancer` that do not depend on the peer list, validated and with defaults. */
export interface ResolvedOptions {
  readonly cookieName: string
  /** Every attribute but `Expires`, which is per request. */
  readonly attributes: Omit<CookieAttributes, 'expires'>
  /** Seconds; undefined for a session cookie. */
  readonly lifetime: number | undefined
  readonly hash: HashMode
  readonly hmac: { readonly algorithm: HmacAlgorithm; readonly key: string | Uint8Array } | undefined
  readonly failover: FailoverRule
  /** The status of a pinned client refused by `failover: 'strict'`. */
  readonly strictStatus: 502 | 503
  readonly refresh: 'assign' | 'always'
  readonly legacy: boolean
  /** The pin-token codec when `token` is set: cookie values are then tokens, not digests. */
  readonly token: TokenCodec | undefined
  /** The header carrier's field name as configured, or undefined. */
  readonly header: string | undefined
  readonly now: () => number
}

/** Every key of `BalancerOptions`: the adapters take their own keys out before they build a balancer. */
const BALANCER_KEYS: ReadonlySet<string> = new Set([
  'peers',
  'cookie',
  'hash',
  'hmac',
  'token',
  'failover',
  'fallback',
  'strictStatus',
  'refresh',
  'legacy',
  'header',
  'now',
])
const FAILOVER_RULES: ReadonlySet<string> = new Set(['repin', 'temporary', 'strict', 'persist'])
const COOKIE_KEYS: ReadonlySet<string> = new Set(['name', 'path', 'domain', 'expires', 'secure', 'httpOnly', 'sameSite', 'partitioned'])
const HMAC_KEYS: ReadonlySet<string> = new Set(['algorithm', 'key'])

/**
 * Validates every option but `peers`, once, and fills in the defaults. Unknown keys are refused at every
 * level, the top one included: a misspelt option (`cookei`, `cookie.expire`) would otherwise be silently
 * ignored and change the cookie. Adapters take their own options out before they call this.
 *
 * @throws StickyConfigError naming the option and the value.
 */
export function resolveOptions(options: BalancerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new StickyConfigError('options', options, 'expected an object')
  }
  const given = options as unknown as Record<string, unknown>
  for (const key of Object.keys(given)) {
    if (!BALANCER_KEYS.has(key)) throw new StickyConfigError(key, given[key], `unknown option: expected one of ${[...BALANCER_KEYS].join(', ')}`)
  }
  const { cookieName, attributes, lifetime } = resolveCookie(options.cookie)
  const token = resolveToken(given)
  const hmac = resolveHmac(options.hmac)
  const hash = resolveHash(options.hash, hmac !== undefined)
  const legacy = bool(options.legacy, false, 'legacy')
  if (legacy && hmac === undefined && (hash === 'index' || hash === 'raw')) {
    throw new StickyConfigError(
      'legacy',
      legacy,
      `hash '${hash}' values are the same in every nginx sticky module: legacy digests exist for md5, sha1 and hmac only`,
    )
  }
  const refresh = options.refresh ?? 'assign'
  if (refresh !== 'assign' && refresh !== 'always') {
    throw new StickyConfigError('refresh', refresh, "expected 'assign' (Set-Cookie when a peer is assigned) or 'always' (on every response)")
  }
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw new StickyConfigError('now', now, 'expected a function returning milliseconds')
  const { failover, strictStatus } = resolveFailover(given)
  const header = resolveHeader(given.header)
  return { cookieName, attributes, lifetime, hash, hmac, failover, strictStatus, refresh, legacy, token, header, now }
}

/**
 * `token` excludes `hash`, `hmac` and `legacy`: the cookie value is then a signed token, and a digest
 * accepted beside it would let anyone who can compute the digest pick a peer, which tokens exist to stop.
 */
function resolveToken(given: Record<string, unknown>): TokenCodec | undefined {
  if (given.token === undefined) return undefined
  for (const other of ['hash', 'hmac'] as const) {
    if (given[other] !== undefined) {
      throw new StickyConfigError(other, given[other], 'token excludes hash and hmac: the cookie value is a signed pin token')
    }
  }
  if (given.legacy !== undefined && given.legacy !== false) {
    throw new StickyConfigError('legacy', given.legacy, 'token excludes legacy: accepting unsigned digests would let clients pick their peer')
  }
  return createTokenCodec(given.token as Parameters<typeof createTokenCodec>[0])
}

/**
 * `failover` and its older spelling `fallback` (true = `'repin'`, false = `'strict'`): both may be
 * given only when they say the same, since which of two contradicting options wins is a guess.
 */
function resolveFailover(given: Record<string, unknown>): { failover: FailoverRule; strictStatus: 502 | 503 } {
  const fallback = given.fallback === undefined ? undefined : bool(given.fallback, true, 'fallback')
  const rule = given.failover
  if (rule !== undefined && (typeof rule !== 'string' || !FAILOVER_RULES.has(rule))) {
    throw new StickyConfigError('failover', rule, "expected 'repin', 'temporary', 'strict' or 'persist'")
  }
  const fromFallback: FailoverRule | undefined = fallback === undefined ? undefined : fallback ? 'repin' : 'strict'
  if (rule !== undefined && fromFallback !== undefined && rule !== fromFallback) {
    throw new StickyConfigError('fallback', fallback, `fallback is the older spelling of failover ('${fromFallback}'), which says '${rule}': give one`)
  }
  const failover = (rule as FailoverRule | undefined) ?? fromFallback ?? 'repin'
  const status = given.strictStatus
  if (status === undefined) return { failover, strictStatus: 502 }
  if (status !== 502 && status !== 503) throw new StickyConfigError('strictStatus', status, 'expected 502 or 503')
  if (failover !== 'strict') {
    throw new StickyConfigError('strictStatus', status, `applies to failover 'strict' only (failover is '${failover}')`)
  }
  return { failover, strictStatus: status }
}

/** The header carrier's field name: an RFC 9110 token that no adapter writes itself. */
function resolveHeader(header: unknown): string | undefined {
  return header === undefined ? undefined : resolveFieldName(header, 'header', 'X-Sticky-Route')
}

function resolveCookie(cookie: unknown): { cookieName: string; attributes: Omit<CookieAttributes, 'expires'>; lifetime: number | undefined } {
  if (cookie === undefined) cookie = {}
  if (typeof cookie !== 'object' || cookie === null || Array.isArray(cookie)) {
    throw new StickyConfigError('cookie', cookie, 'expected an object')
  }
  const c = cookie as Record<string, unknown>
  for (const key of Object.keys(c)) {
    if (!COOKIE_KEYS.has(key)) throw new StickyConfigError(`cookie.${key}`, c[key], 'unknown cookie option')
  }
  const lifetime = resolveLifetime(c.expires)
  const cookieName = (c.name ?? DEFAULT_COOKIE_NAME) as string
  const attributes: Omit<CookieAttributes, 'expires'> = {
    domain: c.domain as string | undefined,
    path: (c.path ?? DEFAULT_COOKIE_PATH) as string,
    maxAge: lifetime,
    secure: c.secure as boolean | undefined,
    httpOnly: c.httpOnly as boolean | undefined,
    sameSite: c.sameSite as CookieAttributes['sameSite'],
    partitioned: c.partitioned as boolean | undefined,
  }
  // Validates the name and every attribute with the cookie codec's own rules; an empty value is valid.
  serializeCookieParts(cookieName, '', attributes, 'cookie')
  return { cookieName, attributes, lifetime }
}

function resolveLifetime(expires: unknown): number | undefined {
  if (expires === undefined) return undefined
  if (expires === 'max') return MAX_COOKIE_LIFETIME
  const seconds = durationIn(expires, 's')
  if (seconds === undefined || !Number.isInteger(seconds) || seconds <= 0) {
    throw new StickyConfigError(
      'cookie.expires',
      expires,
      "expected a positive whole number of seconds (3600), the same with units ('1h', '30m', '7d'), or 'max' (omit it for a session cookie)",
    )
  }
  if (seconds > MAX_COOKIE_LIFETIME) {
    throw new StickyConfigError('cookie.expires', expires, `user agents keep a cookie ${MAX_COOKIE_LIFETIME} seconds (400 days) at most: use 'max'`)
  }
  return seconds
}

function resolveHmac(hmac: unknown): ResolvedOptions['hmac'] {
  if (hmac === undefined) return undefined
  if (typeof hmac !== 'object' || hmac === null || Array.isArray(hmac)) {
    throw new StickyConfigError('hmac', hmac, "expected { algorithm: 'md5' | 'sha1' | 'sha256', key }")
  }
  const h = hmac as Record<string, unknown>
  for (const key of Object.keys(h)) {
    if (!HMAC_KEYS.has(key)) throw new StickyConfigError(`hmac.${key}`, h[key], 'unknown hmac option')
  }
  const algorithm = h.algorithm
  if (algorithm !== 'md5' && algorithm !== 'sha1' && algorithm !== 'sha256') {
    throw new StickyConfigError('hmac.algorithm', algorithm, "expected 'md5', 'sha1' or 'sha256'")
  }
  const key = h.key
  if (typeof key === 'string') {
    if (key.length === 0) throw new StickyConfigError('hmac.key', key, 'an HMAC key must not be empty')
    return { algorithm, key }
  }
  // A brand check rather than instanceof: a key made in another realm (a vm context, an iframe) is bytes too.
  if (Object.prototype.toString.call(key) === '[object Uint8Array]') {
    if ((key as Uint8Array).length === 0) throw new StickyConfigError('hmac.key', key, 'an HMAC key must not be empty')
    // A copy: the caller may reuse its buffer, and the cookie values must not change under us.
    return { algorithm, key: new Uint8Array(key as Uint8Array) }
  }
  throw new StickyConfigError('hmac.key', key, 'expected a non-empty string or Uint8Array (nginx hmac_key=)')
}

function resolveHash(hash: unknown, withHmac: boolean): HashMode {
  if (hash === undefined) return 'md5'
  if (withHmac) {
    throw new StickyConfigError('hash', hash, 'hash and hmac exclude each other (as in nginx-sticky-module-ng): the cookie is the HMAC of the route key')
  }
  if (hash !== 'md5' && hash !== 'sha1' && hash !== 'index' && hash !== 'raw') {
    throw new StickyConfigError('hash', hash, "expected 'md5', 'sha1', 'index' or 'raw'")
  }
  return hash
}

function bool(value: unknown, fallback: boolean, option: string): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new StickyConfigError(option, value, 'expected a boolean')
  return value
}
