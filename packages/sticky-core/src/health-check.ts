/**
 * The pure parts of active health checks (HAProxy's `check inter rise fall`, nginx Plus's
 * `health_check interval= passes= fails=`): the options, read once and strictly; whether a status is
 * the one expected; and the rises/falls count that turns single check results into up/down changes.
 * An adapter runs the checks on its runtime and marks peers through `Balancer.setChecked`.
 *
 * @packageDocumentation
 */
import { durationIn, type Duration } from './duration'
import { StickyConfigError } from './errors'
import { isAuthority } from './field-syntax'

/** The options of active health checks (`healthCheck` of an adapter). Unknown keys are refused. */
export interface HealthCheckOptions {
  /**
   * The path each check requests with `GET`, in origin form (`'/healthz'`, `'/status?full=0'`): it
   * starts with `/` and is visible ASCII, at most 2048 characters.
   */
  path: string
  /**
   * Time between two checks of one peer (HAProxy `inter`): milliseconds, or text with units (`'5s'`).
   * At least 1 ms, at most 2 147 483 647 ms (about 24.8 days, the longest timer a runtime keeps).
   * @default '5s'
   */
  interval?: Duration | undefined
  /**
   * How long a check may take, connection and whole response, before it counts as failed (HAProxy
   * `timeout check`): milliseconds or text with units, at least 1 ms and not longer than `interval`.
   * @default '2s' (or `interval`, when that is shorter)
   */
  timeout?: Duration | undefined
  /**
   * The statuses that pass: a status (`200`), a list of them (`[200, 204]`), or text of statuses and
   * inclusive ranges separated by commas (`'200-399'`, `'200,204'`, `'200-299, 301'`). Each 100..599.
   * @default '200-399' (HAProxy's and nginx Plus's default)
   */
  expect?: string | number | readonly number[] | undefined
  /** Consecutive passed checks that bring a peer that is down back up (HAProxy `rise`). @default 2 */
  rises?: number | undefined
  /** Consecutive failed checks that take a peer that is up out (HAProxy `fall`). @default 3 */
  falls?: number | undefined
  /**
   * The `Host` header of each check (`host[:port]`); by default the peer's own host, as the proxy
   * sends it upstream. For peers that serve their health path on a virtual host only.
   */
  host?: string | undefined
}

/** {@link HealthCheckOptions} validated, with every default applied. Frozen. */
export interface ResolvedHealthCheck {
  readonly path: string
  /** Milliseconds. */
  readonly interval: number
  /** Milliseconds, at most `interval`. */
  readonly timeout: number
  /** Inclusive status ranges, in the order given. */
  readonly expect: readonly (readonly [number, number])[]
  readonly rises: number
  readonly falls: number
  /** The `Host` to send, or undefined for the peer's own. */
  readonly host: string | undefined
}

/**
 * Where the rises/falls count of one peer stands: whether the checks call it up, and how many checks in
 * a row went against that (failures while up, passes while down). Frozen.
 */
export interface CheckTally {
  readonly up: boolean
  readonly streak: number
}

/** What one check result did to a {@link CheckTally}: the new tally, and whether `up` changed. */
export interface CheckObservation {
  readonly tally: CheckTally
  readonly changed: boolean
}

const DEFAULT_INTERVAL = 5_000
const DEFAULT_TIMEOUT = 2_000
const DEFAULT_RISES = 2
const DEFAULT_FALLS = 3
/** The longest delay `setTimeout` keeps on every runtime; longer ones fire at once. */
const MAX_TIMER = 2_147_483_647
const MAX_PATH = 2048
const KEYS: ReadonlySet<string> = new Set(['path', 'interval', 'timeout', 'expect', 'rises', 'falls', 'host'])
const DEFAULT_EXPECT: readonly (readonly [number, number])[] = Object.freeze([Object.freeze([200, 399] as const)])
/** Visible ASCII after the leading slash: no spaces, controls or non-ASCII, which no request line may carry. */
const PATH = /^\/[\x21-\x7e]*$/

/** A peer the checks have not failed yet: peers start up (see {@link observeCheck}). */
export const INITIAL_CHECK_TALLY: CheckTally = Object.freeze({ up: true, streak: 0 })

/**
 * Validates `healthCheck` options once and fills in the defaults.
 *
 * @param options - the `healthCheck` object as given
 * @param option - the option path errors name, `healthCheck` by default (`routes[0].healthCheck`, ...)
 * @throws StickyConfigError naming `<option>.<key>` and the value, for any invalid or unknown key
 *
 * @example
 * ```ts
 * import { resolveHealthCheck } from 'sticky-core'
 *
 * const check = resolveHealthCheck({ path: '/healthz', interval: '10s', expect: '200,204' })
 * console.log(check.interval, check.timeout, check.rises, check.falls) // 10000 2000 2 3
 * ```
 */
export function resolveHealthCheck(options: HealthCheckOptions, option = 'healthCheck'): ResolvedHealthCheck {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new StickyConfigError(option, options, 'expected an object such as { path: "/healthz" }')
  }
  const given = options as unknown as Record<string, unknown>
  for (const key of Object.keys(given)) {
    if (!KEYS.has(key)) throw new StickyConfigError(`${option}.${key}`, given[key], `unknown option: expected one of ${[...KEYS].join(', ')}`)
  }
  const path = given.path
  if (typeof path !== 'string' || path.length > MAX_PATH || !PATH.test(path)) {
    throw new StickyConfigError(`${option}.path`, path, `expected a path starting with / (visible ASCII, at most ${MAX_PATH} characters)`)
  }
  const interval = readMilliseconds(given.interval, `${option}.interval`, DEFAULT_INTERVAL)
  const timeout = readMilliseconds(given.timeout, `${option}.timeout`, Math.min(DEFAULT_TIMEOUT, interval))
  if (timeout > interval) {
    throw new StickyConfigError(
      `${option}.timeout`,
      given.timeout,
      `must not be longer than the interval (${interval} ms): one check per peer is in flight at a time`,
    )
  }
  const expect = given.expect === undefined ? DEFAULT_EXPECT : parseExpect(given.expect, `${option}.expect`)
  const rises = readCount(given.rises, `${option}.rises`, DEFAULT_RISES)
  const falls = readCount(given.falls, `${option}.falls`, DEFAULT_FALLS)
  const host = given.host
  if (host !== undefined && (typeof host !== 'string' || !isAuthority(host))) {
    throw new StickyConfigError(`${option}.host`, host, 'expected a host name or address, with an optional :port')
  }
  return Object.freeze({ path, interval, timeout, expect, rises, falls, host })
}

/**
 * Whether a check's response status passes: it lies in one of the `expect` ranges.
 *
 * @param expect - {@link ResolvedHealthCheck.expect}
 */
export function expectsStatus(expect: ResolvedHealthCheck['expect'], status: number): boolean {
  for (const [low, high] of expect) if (status >= low && status <= high) return true
  return false
}

/**
 * Counts one check result (HAProxy's `rise`/`fall`): a peer that is up goes down after `falls` failed
 * checks in a row, a peer that is down comes back after `rises` passed checks in a row; a result that
 * agrees with the current state clears the streak against it. Pure.
 *
 * Peers start up (`{ up: true, streak: 0 }`), as HAProxy starts servers and nginx Plus does unless a
 * check is `mandatory`: a proxy that starts (or a peer added by `setPeers`) routes at once, and passive
 * health covers a dead peer until its checks took it out.
 */
export function observeCheck(previous: CheckTally, passed: boolean, policy: { readonly rises: number; readonly falls: number }): CheckObservation {
  if (passed === previous.up) return { tally: previous.streak === 0 ? previous : previous.up ? INITIAL_CHECK_TALLY : DOWN, changed: false }
  const streak = previous.streak + 1
  if (streak >= (previous.up ? policy.falls : policy.rises)) return { tally: previous.up ? DOWN : INITIAL_CHECK_TALLY, changed: true }
  return { tally: Object.freeze({ up: previous.up, streak }), changed: false }
}

const DOWN: CheckTally = Object.freeze({ up: false, streak: 0 })

function readMilliseconds(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback
  const ms = durationIn(value, 'ms')
  if (ms === undefined || !Number.isInteger(ms) || ms < 1 || ms > MAX_TIMER) {
    throw new StickyConfigError(option, value, `expected a duration from 1 ms to ${MAX_TIMER} ms: milliseconds, or text with units such as '5s'`)
  }
  return ms
}

function readCount(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new StickyConfigError(option, value, 'expected an integer >= 1')
  return value
}

/** Reads `expect`: a status, an array of statuses, or text of statuses and ranges. */
function parseExpect(value: unknown, option: string): readonly (readonly [number, number])[] {
  const fail = (): never => {
    throw new StickyConfigError(option, value, "expected statuses 100..599 and ranges: 200, [200, 204] or '200-399,404'")
  }
  const ranges: (readonly [number, number])[] = []
  if (typeof value === 'number') {
    if (!isStatus(value)) fail()
    ranges.push(Object.freeze([value, value] as const))
  } else if (Array.isArray(value)) {
    if (value.length === 0) fail()
    for (const item of value as unknown[]) {
      if (typeof item !== 'number' || !isStatus(item)) fail()
      ranges.push(Object.freeze([item as number, item as number] as const))
    }
  } else if (typeof value === 'string' && value.length <= 1024) {
    for (const part of value.split(',')) {
      const match = /^\s*(\d{3})(?:\s*-\s*(\d{3}))?\s*$/.exec(part)
      if (match === null) return fail()
      const low = Number(match[1])
      const high = match[2] === undefined ? low : Number(match[2])
      if (!isStatus(low) || !isStatus(high) || high < low) fail()
      ranges.push(Object.freeze([low, high] as const))
    }
  } else {
    fail()
  }
  return Object.freeze(ranges)
}

function isStatus(value: number): boolean {
  return Number.isInteger(value) && value >= 100 && value <= 599
}
