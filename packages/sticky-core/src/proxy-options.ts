import { durationIn, type Duration } from './duration'
import { StickyConfigError } from './errors'
import type { ForwardedSelection } from './forwarding'
import { resolveFieldName } from './field-syntax'
import { DEFAULT_REQUEST_ID_HEADER } from './request-id'
import { parseTrustList, type TrustList } from './trust'

/**
 * The `proxy` options every adapter shares: one object, one meaning and one set of defaults for
 * sticky-node, sticky-fastify and sticky-fetch alike. Each adapter adds its own transport keys beside
 * these (sticky-node's `agent`, sticky-fetch's `fetch`, ...); a key that is neither shared nor the
 * adapter's own is refused.
 *
 * @packageDocumentation
 */

/** Which `X-Forwarded-*` headers the proxy writes; an absent key counts as `true`. */
export interface XForwardedOptions {
  /** Append the client's address to `X-Forwarded-For` (nginx's `$proxy_add_x_forwarded_for`). @default true */
  for?: boolean | undefined
  /** Set `X-Forwarded-Proto` to `http` or `https` (how the client reached the proxy). @default true */
  proto?: boolean | undefined
  /** Set `X-Forwarded-Host` to the `Host` the client asked for. @default true */
  host?: boolean | undefined
  /**
   * Write RFC 7239 `Forwarded` (`for=`, `proto=`, `host=` of this hop, after a trusted hop's elements).
   * When off, an incoming `Forwarded` still passes from a trusted hop and is dropped from anyone else.
   * @default false
   */
  forwarded?: boolean | undefined
}

/** The `proxy` options every sticky adapter accepts, with the same meaning and defaults in each. */
export interface SharedProxyOptions {
  /**
   * How long a peer may stay silent: while connecting, while it does not take the request body, and
   * before its response head (nginx `proxy_connect_timeout`, `proxy_send_timeout`, `proxy_read_timeout`,
   * which also measure the time between two operations, not the whole exchange). A number is
   * milliseconds; text carries its unit (`'30s'`, `'1m'`, `'500ms'`). A peer silent before its head is
   * answered 504 and counted as failed; time spent waiting on a slow client never counts. `0` means no
   * limit. At most 2 147 483 647 ms (about 24.8 days), the longest timer JavaScript runtimes keep:
   * a longer one fires at once.
   *
   * The default is nginx's 60 s for those three directives, which sticky-node and sticky-fetch already
   * used; `@fastify/reply-from`'s own defaults (undici's 300 s, node:http's 10 s) depended on the
   * transport, so one number for every adapter is nginx's.
   * @default 60000 (60 s)
   */
  timeout?: Duration | undefined
  /**
   * How many other peers an idempotent request (RFC 9110 section 9.2.2) whose body can be sent again
   * may be retried on after a connection failure (nginx `proxy_next_upstream error timeout` with
   * `proxy_next_upstream_tries`, minus the first try). `0` turns retries off.
   *
   * The default is sticky-core's `attemptBudget`: every other configured peer once, like nginx's
   * `proxy_next_upstream_tries 0`, counted per request since `setPeers` can change the list. A fixed
   * number would either leave live peers untried in a large cluster or promise retries a small one
   * cannot give.
   * @default every other peer once (peers - 1)
   */
  retries?: number | undefined
  /**
   * `X-Forwarded-For` / `-Proto` / `-Host` by sticky-core's rules (`forwardedFields`), in place of the
   * client's own: `true` all three, `false` none (the client's pass through untouched), or an object
   * choosing each.
   * @default true
   */
  xForwarded?: boolean | XForwardedOptions | undefined
  /**
   * The proxies whose forwarding headers are believed: CIDRs (`'10.0.0.0/8'`, `'fd00::/8'`), bare
   * addresses, `'loopback'` (127.0.0.0/8, ::1) and `'private'` (10/8, 172.16/12, 192.168/16,
   * fc00::/7, 169.254/16, fe80::/10); a string is a comma-separated list. From a trusted address the
   * incoming `X-Forwarded-For` is extended, and its `X-Forwarded-Proto`, `X-Forwarded-Host`,
   * `Forwarded` and request id are kept (nginx `set_real_ip_from`); from anyone else they are replaced
   * by what this hop saw (`X-Forwarded-For` is the client's address alone).
   * @default nobody trusted
   */
  trustProxy?: readonly string[] | string | undefined
  /**
   * Request IDs: `true` for `X-Request-Id`, or another header name. Each request gets an id, passed
   * on from a trusted hop when sane (visible ASCII, 1 to 200 characters), else a new random UUID; it
   * is sent to the peer and added to the response to the client (replacing a peer's copy), and the
   * `onResponse` event carries it (`requestId`).
   * @default false (no request id)
   */
  requestId?: boolean | string | undefined
}

/** {@link SharedProxyOptions} validated, with every default applied. */
export interface ResolvedSharedProxyOptions {
  /** Milliseconds; 0 is no limit. */
  readonly timeout: number
  /** `undefined`: every other peer once, counted per request (`attemptBudget(undefined, peers)`). */
  readonly retries: number | undefined
  readonly xForwarded: ForwardedSelection
  /** Which client addresses are trusted proxies. */
  readonly trustProxy: TrustList
  /** The request-id header's name (as given, e.g. `X-Request-Id`); `undefined`: no request ids. */
  readonly requestId: string | undefined
}

/** The keys of {@link SharedProxyOptions}, in the order they are documented. */
export const SHARED_PROXY_KEYS: readonly ['timeout', 'retries', 'xForwarded', 'trustProxy', 'requestId'] = Object.freeze([
  'timeout',
  'retries',
  'xForwarded',
  'trustProxy',
  'requestId',
] as const)

/** nginx's default `proxy_read_timeout` (and connect and send timeouts), in milliseconds. */
export const DEFAULT_PROXY_TIMEOUT = 60_000

/** The longest delay `setTimeout` keeps (2^31 - 1 ms); a longer one fires after 1 ms in Node and browsers. */
export const MAX_PROXY_TIMEOUT = 2_147_483_647

const XFORWARDED_KEYS: readonly string[] = ['for', 'proto', 'host', 'forwarded']
const ALL: ForwardedSelection = Object.freeze({ for: true, proto: true, host: true, forwarded: false })
const NONE: ForwardedSelection = Object.freeze({ for: false, proto: false, host: false, forwarded: false })
const NOBODY: TrustList = parseTrustList(undefined)

/**
 * Validates an adapter's `proxy` option and applies the shared defaults. Keys in `ownKeys` are the
 * adapter's own: they are left for it to read and check. Any other key is refused, so that a misspelt
 * option (`proxy: { timout: 5000 }`) fails at configuration instead of being ignored.
 *
 * @example
 * ```ts
 * import { resolveSharedProxyOptions } from 'sticky-core'
 *
 * const shared = resolveSharedProxyOptions({ timeout: '30s', xForwarded: { host: false } }, ['agent'])
 * console.log(shared.timeout, shared.retries, shared.xForwarded.host) // 30000 undefined false
 * ```
 *
 * @param options - the `proxy` option as given; `undefined` for every default
 * @param ownKeys - the keys the adapter adds beside the shared ones
 * @param scope - the option's name in errors
 * @throws StickyConfigError naming `proxy.<key>` and the value: an unknown key, a bad `timeout`, `retries`
 *   or `xForwarded`, or a `proxy` that is not an object
 */
export function resolveSharedProxyOptions(options: unknown, ownKeys: readonly string[] = [], scope: string = 'proxy'): ResolvedSharedProxyOptions {
  if (options === undefined) return { timeout: DEFAULT_PROXY_TIMEOUT, retries: undefined, xForwarded: ALL, trustProxy: NOBODY, requestId: undefined }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new StickyConfigError(scope, options, 'expected an object of proxy options')
  }
  const o = options as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!(SHARED_PROXY_KEYS as readonly string[]).includes(key) && !ownKeys.includes(key)) {
      throw new StickyConfigError(`${scope}.${key}`, o[key], `unknown proxy option: expected one of ${[...SHARED_PROXY_KEYS, ...ownKeys].join(', ')}`)
    }
  }
  return {
    timeout: resolveTimeout(o.timeout, `${scope}.timeout`),
    retries: resolveRetries(o.retries, `${scope}.retries`),
    xForwarded: resolveXForwarded(o.xForwarded, `${scope}.xForwarded`),
    trustProxy: o.trustProxy === undefined ? NOBODY : parseTrustList(o.trustProxy as string, `${scope}.trustProxy`),
    requestId: resolveRequestId(o.requestId, `${scope}.requestId`),
  }
}

function resolveRequestId(value: unknown, option: string): string | undefined {
  if (value === undefined || value === false) return undefined
  if (value === true) return DEFAULT_REQUEST_ID_HEADER
  if (typeof value !== 'string') throw new StickyConfigError(option, value, "expected a boolean or a header name ('X-Request-Id')")
  return resolveFieldName(value, option, 'X-Request-Id')
}

function resolveTimeout(value: unknown, option: string): number {
  if (value === undefined) return DEFAULT_PROXY_TIMEOUT
  const ms = durationIn(value, 'ms')
  if (ms === undefined || !Number.isSafeInteger(ms) || ms < 0) {
    throw new StickyConfigError(option, value, "expected milliseconds, an integer >= 0 (0: no limit), or a duration with units ('30s', '500ms')")
  }
  if (ms > MAX_PROXY_TIMEOUT) {
    throw new StickyConfigError(option, value, `at most ${MAX_PROXY_TIMEOUT} ms (about 24.8 days): a longer timer fires at once; use 0 for no limit`)
  }
  return ms
}

function resolveRetries(value: unknown, option: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new StickyConfigError(option, value, 'expected an integer >= 0 (0: no retries; omit it for every other peer once)')
  }
  return value
}

function resolveXForwarded(value: unknown, option: string): ForwardedSelection {
  if (value === undefined || value === true) return ALL
  if (value === false) return NONE
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StickyConfigError(option, value, 'expected a boolean or { for, proto, host, forwarded }')
  }
  const o = value as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!XFORWARDED_KEYS.includes(key)) throw new StickyConfigError(`${option}.${key}`, o[key], 'unknown header: expected for, proto, host or forwarded')
  }
  const pick = (key: 'for' | 'proto' | 'host' | 'forwarded'): boolean => {
    const flag = o[key]
    if (flag === undefined) return key !== 'forwarded'
    if (typeof flag !== 'boolean') throw new StickyConfigError(`${option}.${key}`, flag, 'expected a boolean')
    return flag
  }
  return Object.freeze({ for: pick('for'), proto: pick('proto'), host: pick('host'), forwarded: pick('forwarded') })
}
