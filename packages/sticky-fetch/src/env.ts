import { parseDuration, parsePeerLine, parseTokenKeys as readKeys, parseTrustList, resolveSharedProxyOptions, StickyConfigError } from 'sticky-core'
import type {
  BalancerBaseOptions,
  FailoverRule,
  HashMode,
  HmacAlgorithm,
  PeerInput,
  PeerOptions,
  SameSite,
  StickyCookieOptions,
  TokenKey,
  TokenOptions,
} from 'sticky-core'
import type { ProxyOptions, StickyFetchOptions } from './options'

/**
 * Worker environment bindings (`[vars]` in `wrangler.toml`, secrets, or any `process.env`-like object).
 * Values may be strings or, from `[vars]`, JSON values.
 */
export type StickyEnv = Readonly<Record<string, unknown>>

/**
 * Builds the options of `createStickyFetch` from environment bindings. Every variable is optional except
 * `STICKY_PEERS`; an unset or empty variable keeps the option's default.
 *
 * | Variable | Option | Value |
 * | --- | --- | --- |
 * | `STICKY_PEERS` | `peers` | comma- or newline-separated `origin [param...]`, params as nginx's `server`: `weight=2 max_fails=3 fail_timeout=30s route=a backup down drain`; or an array of such strings or peer objects |
 * | `STICKY_COOKIE_NAME`, `_PATH`, `_DOMAIN` | `cookie.name`, `.path`, `.domain` | text |
 * | `STICKY_COOKIE_EXPIRES` | `cookie.expires` | a duration (`1h`, `3600` = seconds) or `max` |
 * | `STICKY_COOKIE_SECURE`, `_HTTPONLY`, `_PARTITIONED` | `cookie.secure`, `.httpOnly`, `.partitioned` | boolean |
 * | `STICKY_COOKIE_SAMESITE` | `cookie.sameSite` | `Strict`, `Lax`, `None` (any case) |
 * | `STICKY_HASH` | `hash` | `md5`, `sha1`, `index`, `raw` |
 * | `STICKY_HMAC_KEY` | `hmac.key` | the key (store it as a secret) |
 * | `STICKY_HMAC` | `hmac.algorithm` | `md5`, `sha1`, `sha256`; default `sha256` when a key is set |
 * | `STICKY_TOKEN_KEYS` | `token.keys` | pin-token keys, one a line as `id:secret` (blank lines and `#` comments ignored; the first signs); store it as a secret. Excludes `STICKY_HASH`, `STICKY_HMAC_KEY` and `STICKY_LEGACY` |
 * | `STICKY_TOKEN_MAX_AGE`, `_IDLE`, `_SKEW` | `token.maxAge`, `.idle`, `.skew` | a duration in whole seconds (`7d`, `30m`, `3600`); needs `STICKY_TOKEN_KEYS` |
 * | `STICKY_FALLBACK` | `fallback` | boolean; `false` is nginx's `no_fallback` (the older spelling of `STICKY_FAILOVER=strict`) |
 * | `STICKY_FAILOVER` | `failover` | `repin`, `temporary`, `strict`, `persist` |
 * | `STICKY_STRICT_STATUS` | `strictStatus` | `502`, `503` |
 * | `STICKY_ROUTE_HEADER` | `header` | a header name, e.g. `X-Sticky-Route` |
 * | `STICKY_REFRESH` | `refresh` | `assign`, `always` |
 * | `STICKY_LEGACY` | `legacy` | boolean |
 * | `STICKY_TIMEOUT` | `proxy.timeout` | a duration (`30s`, `500ms`; a bare number is seconds; `0` is no limit) |
 * | `STICKY_RETRIES` | `proxy.retries` | integer |
 * | `STICKY_X_FORWARDED` | `proxy.xForwarded` | boolean |
 * | `STICKY_TRUST_PROXY` | `proxy.trustProxy` | comma-separated CIDRs, addresses, `loopback`, `private` |
 * | `STICKY_REQUEST_ID` | `proxy.requestId` | boolean (`true`: `X-Request-Id`), or the header's name |
 * | `STICKY_KEEP_CONTENT_ENCODING` | `proxy.keepContentEncoding` | boolean; `true` suits Workers |
 *
 * Booleans are `true`/`false`, `1`/`0`, `yes`/`no` or `on`/`off`. Durations use nginx's notation, so
 * values carry over from an nginx `sticky` configuration.
 *
 * @throws StickyConfigError whose `option` is the variable's name, for a missing `STICKY_PEERS` or a value
 * that does not parse. The balancer checks the rest when the handler is created.
 */
export function optionsFromEnv(bindings: object): StickyFetchOptions {
  // `object`, not `StickyEnv`: a Worker's own `Env` interface has no index signature and would not fit.
  const env = bindings as StickyEnv
  const peers = peersFromEnv(env.STICKY_PEERS)
  // Built without `hash` and `hmac`, which exclude each other and are added last.
  const options: Omit<BalancerBaseOptions, 'peers'> & { proxy?: ProxyOptions } = {}

  const cookie: StickyCookieOptions = {}
  setIf(cookie, 'name', text(env, 'STICKY_COOKIE_NAME'))
  setIf(cookie, 'path', text(env, 'STICKY_COOKIE_PATH'))
  setIf(cookie, 'domain', text(env, 'STICKY_COOKIE_DOMAIN'))
  setIf(cookie, 'expires', expires(env, 'STICKY_COOKIE_EXPIRES'))
  setIf(cookie, 'secure', bool(env, 'STICKY_COOKIE_SECURE'))
  setIf(cookie, 'httpOnly', bool(env, 'STICKY_COOKIE_HTTPONLY'))
  setIf(cookie, 'sameSite', oneOf(env, 'STICKY_COOKIE_SAMESITE', SAME_SITE))
  setIf(cookie, 'partitioned', bool(env, 'STICKY_COOKIE_PARTITIONED'))
  if (Object.keys(cookie).length > 0) options.cookie = cookie

  const hash = oneOf(env, 'STICKY_HASH', HASH_MODES)
  const key = text(env, 'STICKY_HMAC_KEY')
  const algorithm = oneOf(env, 'STICKY_HMAC', HMAC_ALGORITHMS)
  if (key === undefined && algorithm !== undefined) throw new StickyConfigError('STICKY_HMAC', algorithm, 'STICKY_HMAC_KEY is not set')
  if (key !== undefined && hash !== undefined) {
    throw new StickyConfigError('STICKY_HASH', hash, 'STICKY_HASH and STICKY_HMAC_KEY exclude each other: the cookie value is the HMAC')
  }
  const token = tokenFromEnv(env)
  if (token !== undefined) {
    const other = hash !== undefined ? 'STICKY_HASH' : key !== undefined ? 'STICKY_HMAC_KEY' : bool(env, 'STICKY_LEGACY') === true ? 'STICKY_LEGACY' : undefined
    if (other !== undefined) {
      throw new StickyConfigError('STICKY_TOKEN_KEYS', HIDDEN, `STICKY_TOKEN_KEYS and ${other} exclude each other: the cookie value is a signed token`)
    }
  }
  setIf(options, 'fallback', bool(env, 'STICKY_FALLBACK'))
  setIf(options, 'failover', oneOf(env, 'STICKY_FAILOVER', FAILOVER))
  setIf(options, 'strictStatus', oneOf(env, 'STICKY_STRICT_STATUS', STRICT_STATUS))
  setIf(options, 'header', text(env, 'STICKY_ROUTE_HEADER'))
  setIf(options, 'refresh', oneOf(env, 'STICKY_REFRESH', REFRESH))
  setIf(options, 'legacy', bool(env, 'STICKY_LEGACY'))

  const proxy: ProxyOptions = {}
  setIf(proxy, 'timeout', duration(env, 'STICKY_TIMEOUT'))
  setIf(proxy, 'retries', measure(env, 'STICKY_RETRIES', integer, 'a non-negative integer'))
  setIf(proxy, 'xForwarded', bool(env, 'STICKY_X_FORWARDED'))
  setIf(proxy, 'keepContentEncoding', bool(env, 'STICKY_KEEP_CONTENT_ENCODING'))
  setIf(proxy, 'trustProxy', trustList(env, 'STICKY_TRUST_PROXY'))
  setIf(proxy, 'requestId', requestId(env, 'STICKY_REQUEST_ID'))
  if (Object.keys(proxy).length > 0) options.proxy = proxy
  if (token !== undefined) {
    // STICKY_LEGACY=true was refused above; `false` is kept.
    const { legacy, ...rest } = options
    return { ...rest, peers, token, ...(legacy === false ? { legacy } : {}) }
  }
  if (key !== undefined) return { ...options, peers, hmac: { algorithm: algorithm ?? 'sha256', key } }
  return hash === undefined ? { ...options, peers } : { ...options, peers, hash }
}

const SAME_SITE: ReadonlyMap<string, SameSite> = new Map([
  ['strict', 'Strict'],
  ['lax', 'Lax'],
  ['none', 'None'],
])
const HASH_MODES: ReadonlyMap<string, HashMode> = identity(['md5', 'sha1', 'index', 'raw'])
const HMAC_ALGORITHMS: ReadonlyMap<string, HmacAlgorithm> = identity(['md5', 'sha1', 'sha256'])
const REFRESH: ReadonlyMap<string, 'assign' | 'always'> = identity(['assign', 'always'])
const FAILOVER: ReadonlyMap<string, FailoverRule> = identity(['repin', 'temporary', 'strict', 'persist'])
const STRICT_STATUS: ReadonlyMap<string, 502 | 503> = new Map([
  ['502', 502],
  ['503', 503],
])
/** Stands for a value that may hold a secret in errors, which end up in logs. */
const HIDDEN = '(not shown: it holds secrets)'
const BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['1', true],
  ['yes', true],
  ['on', true],
  ['false', false],
  ['0', false],
  ['no', false],
  ['off', false],
])

function identity<T extends string>(values: readonly T[]): ReadonlyMap<string, T> {
  return new Map(values.map((value) => [value, value]))
}

// Under `exactOptionalPropertyTypes` an absent option must stay absent, not become `undefined`.
function setIf<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value
}

/** The variable as text; `undefined` when unset or empty. Numbers and booleans from `[vars]` become text. */
function text(env: StickyEnv, name: string): string | undefined {
  const value = env[name]
  if (value === undefined || value === null) return undefined
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value !== 'string') throw new StickyConfigError(name, value, 'expected a string')
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

function bool(env: StickyEnv, name: string): boolean | undefined {
  const value = text(env, name)
  if (value === undefined) return undefined
  const parsed = BOOLEANS.get(value.toLowerCase())
  if (parsed === undefined) throw new StickyConfigError(name, value, 'expected true or false')
  return parsed
}

/** A trust list, checked here so that an error names the variable rather than `proxy.trustProxy`. */
function trustList(env: StickyEnv, name: string): string | undefined {
  const value = text(env, name)
  if (value !== undefined) parseTrustList(value, name)
  return value
}

/** A boolean, else a header name, checked here so that an error names the variable. */
function requestId(env: StickyEnv, name: string): boolean | string | undefined {
  const value = text(env, name)
  if (value === undefined) return undefined
  const parsed = BOOLEANS.get(value.toLowerCase()) ?? value
  try {
    resolveSharedProxyOptions({ requestId: parsed })
  } catch (error) {
    if (error instanceof StickyConfigError) throw new StickyConfigError(name, value, error.reason)
    throw error
  }
  return parsed
}

function oneOf<T>(env: StickyEnv, name: string, allowed: ReadonlyMap<string, T>): T | undefined {
  const value = text(env, name)
  if (value === undefined) return undefined
  const parsed = allowed.get(value.toLowerCase())
  if (parsed === undefined) {
    throw new StickyConfigError(name, value, `expected one of ${[...allowed.values()].join(', ')}`)
  }
  return parsed
}

function measure(env: StickyEnv, name: string, parse: (text: string) => number | undefined, expected: string): number | undefined {
  const value = text(env, name)
  if (value === undefined) return undefined
  const parsed = parse(value)
  if (parsed === undefined) throw new StickyConfigError(name, value, `expected ${expected}`)
  return parsed
}

function duration(env: StickyEnv, name: string): number | undefined {
  const value = text(env, name)
  return value === undefined ? undefined : parseDuration(value, name)
}

function expires(env: StickyEnv, name: string): number | 'max' | undefined {
  const value = text(env, name)
  if (value === undefined) return undefined
  if (value.toLowerCase() === 'max') return 'max'
  const ms = wholeDuration(value)
  if (ms === undefined || ms % 1000 !== 0) {
    throw new StickyConfigError(name, value, 'expected max or a duration in whole seconds, such as 1h or 3600')
  }
  return ms / 1000
}

/** sticky-core's `parseDuration` for a value whose error names more than the value itself. */
function wholeDuration(value: string): number | undefined {
  try {
    return parseDuration(value, 'duration')
  } catch (error) {
    if (error instanceof StickyConfigError) return undefined
    throw error
  }
}

/** `STICKY_TOKEN_*`: the `token` option, or `undefined` when no token variable is set. */
function tokenFromEnv(env: StickyEnv): TokenOptions | undefined {
  const keysText = text(env, 'STICKY_TOKEN_KEYS')
  const maxAge = seconds(env, 'STICKY_TOKEN_MAX_AGE')
  const idle = seconds(env, 'STICKY_TOKEN_IDLE')
  const skew = seconds(env, 'STICKY_TOKEN_SKEW')
  if (keysText === undefined) {
    const given = (['STICKY_TOKEN_MAX_AGE', 'STICKY_TOKEN_IDLE', 'STICKY_TOKEN_SKEW'] as const).find((name) => text(env, name) !== undefined)
    if (given === undefined) return undefined
    throw new StickyConfigError(given, env[given], 'STICKY_TOKEN_KEYS is not set')
  }
  const token: { -readonly [K in keyof TokenOptions]: TokenOptions[K] } = { keys: parseTokenKeys(keysText) }
  setIf(token, 'maxAge', maxAge)
  setIf(token, 'idle', idle)
  setIf(token, 'skew', skew)
  return token
}

/** `STICKY_TOKEN_KEYS`, read by sticky-core's `parseTokenKeys`: errors name the line, never its content. */
function parseTokenKeys(value: string): TokenKey[] {
  const reading = readKeys(value)
  if (reading.ok) return [...reading.keys]
  throw new StickyConfigError('STICKY_TOKEN_KEYS', HIDDEN, reading.line === undefined ? reading.reason : `line ${reading.line}: ${reading.reason}`)
}

/** A duration in whole seconds (pin tokens store seconds). */
function seconds(env: StickyEnv, name: string): number | undefined {
  const value = text(env, name)
  if (value === undefined) return undefined
  const ms = wholeDuration(value)
  if (ms === undefined || ms % 1000 !== 0) throw new StickyConfigError(name, value, 'expected a duration in whole seconds, such as 30m or 3600')
  return ms / 1000
}

function integer(value: string): number | undefined {
  return /^\d{1,9}$/.test(value) ? Number(value) : undefined
}

/** `STICKY_PEERS`: a list in text, or an array of entries (strings in the same syntax, or peer objects). */
function peersFromEnv(value: unknown): PeerInput[] {
  const name = 'STICKY_PEERS'
  if (Array.isArray(value)) {
    if (value.length === 0) throw new StickyConfigError(name, value, 'no peers')
    return value.map((entry: unknown) => {
      if (typeof entry === 'string') return parsePeerEntry(entry)
      if (typeof entry === 'object' && entry !== null) return entry as PeerOptions
      throw new StickyConfigError(name, entry, 'expected a string or a peer object')
    })
  }
  if (typeof value !== 'string') throw new StickyConfigError(name, value, 'not set: list the origins to balance')
  const entries = value
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
  if (entries.length === 0) throw new StickyConfigError(name, value, 'no peers')
  return entries.map(parsePeerEntry)
}

/**
 * One peer in nginx `server` syntax, read by sticky-core's `parsePeerLine` (the same grammar as the
 * `sticky-proxy` config file's peer lines): the address, then `weight=`, `max_fails=`, `fail_timeout=`,
 * `route=`, `backup`, `down`, `drain` in any order. An address alone stays a string.
 */
export function parsePeerEntry(entry: string): PeerInput {
  const peer = parsePeerLine(entry, 'STICKY_PEERS')
  return Object.keys(peer).length === 1 ? peer.address : peer
}
