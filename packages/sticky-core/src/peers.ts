import { parseAddress, type IpEndpoint } from './address'
import { assertCookieValue } from './cookie-syntax'
import { durationIn, type Duration } from './duration'
import { StickyConfigError } from './errors'

/** A peer as given in the options: a string is an address with every parameter at its default. */
export type PeerInput = string | PeerOptions

/** A peer with its per-server parameters (the parameters of nginx's `server` directive in `upstream`). */
export interface PeerOptions {
  /**
   * `ip:port`, `[v6]:port`, `host:port`, `unix:/path`, or an `http(s)://host[:port]` URL (an origin: no
   * path, query or userinfo). Without a port, the first three forms get 80, as in nginx; a URL gets its
   * scheme's default port. IPv6 is written in brackets; a host name is RFC 1123 labels (lowercased).
   */
  address: string
  /**
   * Relative share of new clients: an integer from 1 to {@link MAX_WEIGHT} (nginx `weight=`).
   * @default 1
   */
  weight?: number | undefined
  /**
   * Failures within `failTimeout` that make the peer unusable, an integer >= 0; 0 turns failure
   * tracking off (nginx `max_fails=`).
   * @default 1
   */
  maxFails?: number | undefined
  /**
   * The window in which `maxFails` failures count, and how long the peer then stays unusable (nginx
   * `fail_timeout=`): a number of milliseconds, a positive integer, or text with units (`'10s'`,
   * `'1m30s'`, `'500ms'`). nginx's bare `fail_timeout=10` counts seconds; here a bare number is
   * milliseconds, so write `'10s'` when copying from nginx.
   * @default 10000 (10 s, nginx's default)
   */
  failTimeout?: Duration | undefined
  /**
   * The cookie value that pins to this peer, verbatim (nginx `route=`): a non-empty string of RFC 6265
   * cookie-octets, unique among peers. Under `hmac` the cookie carries the HMAC of the route instead.
   */
  route?: string | undefined
  /** Takes new clients only when no primary is usable (nginx `backup`). @default false */
  backup?: boolean | undefined
  /** Permanently unusable (nginx `down`). Excludes `drain`. @default false */
  down?: boolean | undefined
  /**
   * Takes only clients already pinned to it (hits), never new ones (nginx `drain`). Excludes `down`.
   * @default false
   */
  drain?: boolean | undefined
}

/** A configured peer, canonicalised. Frozen. */
export interface Peer {
  /** The route key: `ip:port`, `[v6]:port`, `host:port` or `unix:/path`. Unique within a balancer. */
  readonly id: string
  /** Canonical address: the route key, or for a URL peer its origin `scheme://host:port` (port always written). */
  readonly address: string
  /** Explicit cookie value (`route=`), if configured. */
  readonly route: string | undefined
  readonly weight: number
  readonly backup: boolean
  readonly down: boolean
  readonly drain: boolean
  readonly maxFails: number
  /** Milliseconds, whatever notation the options used. */
  readonly failTimeout: number
  /** Where to connect: adapters never parse addresses themselves. */
  readonly target: PeerTarget
}

/**
 * How an adapter reaches a peer. `host` is bare (`::1`), `origin` bracketed (`http://[::1]:9001`); an
 * `ip:port` or `host:port` peer speaks `http:`. A unix socket's `origin` is `http://localhost`, for the
 * `Host` header and URLs.
 */
export type PeerTarget =
  | { readonly kind: 'tcp'; readonly protocol: 'http:' | 'https:'; readonly host: string; readonly port: number; readonly origin: string }
  | { readonly kind: 'unix'; readonly protocol: 'http:'; readonly socketPath: string; readonly origin: string }

/** nginx's default `max_fails`. */
export const DEFAULT_MAX_FAILS = 1
/** nginx's default `fail_timeout` (10s), in milliseconds. */
export const DEFAULT_FAIL_TIMEOUT = 10_000
/** Largest `weight`: keeps the round robin's sums exact integers however many peers there are. */
export const MAX_WEIGHT = 1_000_000

/** A validated peer and what only the core needs to know about it. */
export interface ParsedPeer {
  readonly peer: Peer
  /** Position in the list as given, for error messages. */
  readonly index: number
  /** The IP literal behind the address, for legacy digests; undefined for host names and sockets. */
  readonly ip: IpEndpoint | undefined
}

const KNOWN_KEYS: ReadonlySet<string> = new Set(['address', 'weight', 'maxFails', 'failTimeout', 'route', 'backup', 'down', 'drain'])

/**
 * Validates and canonicalises a peer list. Refused, with a {@link StickyConfigError} naming
 * `peers[i].field` and the value: a bad address or parameter, an unknown parameter (a typo would
 * otherwise be silently ignored), two peers with the same route key or the same `route`, an empty list,
 * a list of backups only.
 *
 * @param option - the option to name in errors: `peers`.
 */
export function parsePeers(list: unknown, option: string = 'peers'): ParsedPeer[] {
  if (!Array.isArray(list)) throw new StickyConfigError(option, list, 'expected an array of peers')
  if (list.length === 0) throw new StickyConfigError(option, list, 'at least one peer is needed')
  const parsed: ParsedPeer[] = []
  const byKey = new Map<string, number>()
  const byRoute = new Map<string, number>()
  for (let i = 0; i < list.length; i++) {
    const item = parsePeer(list[i] as unknown, i, `${option}[${i}]`)
    const sameKey = byKey.get(item.peer.id)
    if (sameKey !== undefined) {
      throw new StickyConfigError(`${option}[${i}].address`, addressOf(list[i]), `the same peer as ${option}[${sameKey}] (${item.peer.id})`)
    }
    byKey.set(item.peer.id, i)
    if (item.peer.route !== undefined) {
      const sameRoute = byRoute.get(item.peer.route)
      if (sameRoute !== undefined) {
        throw new StickyConfigError(`${option}[${i}].route`, item.peer.route, `already the route of ${option}[${sameRoute}]`)
      }
      byRoute.set(item.peer.route, i)
    }
    parsed.push(item)
  }
  if (parsed.every((p) => p.peer.backup)) {
    throw new StickyConfigError(option, list, 'every peer is a backup: at least one primary is needed')
  }
  return parsed
}

function addressOf(input: unknown): unknown {
  return typeof input === 'object' && input !== null ? (input as { address?: unknown }).address : input
}

function parsePeer(input: unknown, index: number, option: string): ParsedPeer {
  if (typeof input === 'string') input = { address: input }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new StickyConfigError(option, input, 'a peer is an address string or an object with an address')
  }
  const o = input as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!KNOWN_KEYS.has(key)) throw new StickyConfigError(`${option}.${key}`, o[key], 'unknown peer parameter')
  }
  const parsed = parseAddress(o.address, `${option}.address`)
  const weight = integerIn(o.weight, 1, 1, MAX_WEIGHT, `${option}.weight`)
  const maxFails = integerIn(o.maxFails, DEFAULT_MAX_FAILS, 0, Number.MAX_SAFE_INTEGER, `${option}.maxFails`)
  const failTimeout = o.failTimeout === undefined ? DEFAULT_FAIL_TIMEOUT : milliseconds(o.failTimeout, `${option}.failTimeout`)
  const backup = flag(o.backup, `${option}.backup`)
  const down = flag(o.down, `${option}.down`)
  const drain = flag(o.drain, `${option}.drain`)
  if (down && drain) throw new StickyConfigError(`${option}.drain`, o.drain, 'a peer is either down or draining, not both')
  let route: string | undefined
  if (o.route !== undefined) {
    assertCookieValue(o.route, `${option}.route`)
    if (o.route === '') throw new StickyConfigError(`${option}.route`, o.route, 'a route must not be empty')
    route = o.route
  }
  const peer: Peer = Object.freeze({
    id: parsed.routeKey,
    address: parsed.address,
    route,
    weight,
    backup,
    down,
    drain,
    maxFails,
    failTimeout,
    target: parsed.target,
  })
  return { peer, index, ip: parsed.ip }
}

function integerIn(value: unknown, fallback: number, min: number, max: number, option: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new StickyConfigError(option, value, `expected an integer from ${min} to ${max}`)
  }
  return value
}

function milliseconds(value: unknown, option: string): number {
  const ms = durationIn(value, 'ms')
  if (ms === undefined || !Number.isSafeInteger(ms) || ms < 1) {
    throw new StickyConfigError(option, value, "expected a positive integer of milliseconds (10000) or a duration with units ('10s', '1m30s', '500ms')")
  }
  return ms
}

function flag(value: unknown, option: string): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw new StickyConfigError(option, value, 'expected a boolean')
  return value
}
