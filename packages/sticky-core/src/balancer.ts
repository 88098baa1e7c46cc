import { createWeightState, noteWeightFailure, pickSmoothWeighted, type WeightState } from './balance'
import { joinCookieParts, parseCookie, serializeCookieParts, type SameSite, type SetCookieParts } from './cookie'
import { computeCookieValues } from './cookie-value'
import { StickyConfigError } from './errors'
import type { Duration } from './duration'
import type { HmacAlgorithm } from './hash'
import { createHealthState, isHealthy, noteFailure, noteSelected, noteSuccess, type CheckedState, type HealthState } from './health'
import { HTTP_DATE_MAX } from './http-date'
import { resolveOptions, type ResolvedOptions } from './options'
import { parsePeers, type ParsedPeer, type Peer, type PeerInput } from './peers'
import { createPinCookie, isConstantPinCookie, renderPinCookie, type PinCookie } from './pin-cookie'
import type { TokenCodec, TokenOptions, TokenPeerTable } from './token'

/**
 * How the cookie value is derived from a peer's route key (nginx-sticky-module-ng `hash=` / `text=raw`):
 * `md5` and `sha1` lowercase hex digests (the value nginx's built-in `sticky cookie` issues is `md5`),
 * `raw` the route key itself, `index` the peer's 0-based position (primaries first, then backups; it
 * changes when the list is reordered).
 */
export type HashMode = 'md5' | 'sha1' | 'index' | 'raw'

/** The sticky cookie's name and attributes (nginx `sticky cookie name expires= domain= path= ...`). */
export interface StickyCookieOptions {
  /** A token (RFC 6265 section 4.1.1 `cookie-name`). `__Secure-`/`__Host-` prefixes are enforced. @default 'route' */
  name?: string | undefined
  /** `Path=` (RFC 6265bis section 4.1.2.4; nginx `path=`). @default '/' */
  path?: string | undefined
  /** `Domain=` (RFC 6265bis section 4.1.2.3; nginx `domain=`). Absent: the host that set it only. */
  domain?: string | undefined
  /**
   * Lifetime: a number of seconds, a positive integer up to 34 560 000, or the same as text with
   * units (`'1h'`, `'30m'`, `'7d'`, whole seconds), or `'max'` for that maximum (400 days, the longest
   * user agents keep a cookie, RFC 6265bis section 5.6.1); emits `Expires` (IMF-fixdate, the clock's
   * current second plus the lifetime) and `Max-Age` (nginx `expires=`, `expires=max`). Absent: a session
   * cookie.
   */
  expires?: Duration | 'max' | undefined
  /** `Secure` (nginx `secure`). @default false */
  secure?: boolean | undefined
  /** `HttpOnly` (nginx `httponly`). @default false */
  httpOnly?: boolean | undefined
  /** `SameSite=` (RFC 6265bis section 4.1.2.7; nginx `samesite=`). `'None'` requires `secure`. Absent: not sent. */
  sameSite?: SameSite | undefined
  /** `Partitioned` (CHIPS). Requires `secure`. @default false */
  partitioned?: boolean | undefined
}

/** HMAC of the route key instead of a plain digest (nginx-sticky-module-ng `hmac=` / `hmac_key=`). */
export interface HmacOptions {
  /** nginx-sticky-module-ng knows `md5` and `sha1`; `sha256` is ours. */
  algorithm: HmacAlgorithm
  /** The secret, non-empty; a string is used as its UTF-8 bytes. */
  key: string | Uint8Array
}

/**
 * What a client pinned to a peer it cannot use gets (option `failover`):
 * - `'repin'`: another peer, and the cookie moves there (nginx-sticky-module-ng's default).
 * - `'temporary'`: another peer for this request only; no `Set-Cookie`, so the client keeps its pin and
 *   returns to its peer once that peer is usable again (Cloudflare's `temporary` session affinity failover).
 * - `'strict'`: no peer: `status` 502, or `strictStatus` (nginx-sticky-module-ng's `no_fallback`).
 * - `'persist'`: passive health does not move pinned clients: they keep going to their peer while its
 *   reported failures mark it unusable for new clients; only `down`, a failed active health check
 *   ({@link Balancer.setChecked}) or an excluded peer on a retry moves them, as with `'repin'`
 *   (HAProxy's `option persist`, which also gives way when the server's checks fail).
 *
 * A peer that active health checks marked down is unusable as a `down` peer is, under every rule.
 */
export type FailoverRule = 'repin' | 'temporary' | 'strict' | 'persist'

/** The options of {@link createBalancer} other than the cookie value's derivation (`hash`, `hmac` or `token`). */
export interface BalancerBaseOptions {
  /** The upstream peers, in order (nginx `server` lines). At least one must not be a backup. */
  peers: readonly PeerInput[]
  cookie?: StickyCookieOptions | undefined
  /**
   * What a client pinned to an unusable peer gets: see {@link FailoverRule}.
   * @default 'repin'
   */
  failover?: FailoverRule | undefined
  /**
   * The older spelling of `failover`: `true` is `'repin'`, `false` is `'strict'` (nginx-sticky-module-ng's
   * `no_fallback`: when the cookie names a peer that is not usable, answer 502 instead of pinning the
   * client to another peer; clients without a valid cookie are balanced anyway). Given beside `failover`,
   * it must say the same.
   * @default true
   */
  fallback?: boolean | undefined
  /**
   * The status of a pinned client that `failover: 'strict'` refuses: 502 (nginx's), or 503 for clients and
   * monitors that read 503 as "come back later". Only with `failover: 'strict'` (or `fallback: false`).
   * @default 502
   */
  strictStatus?: 502 | 503 | undefined
  /**
   * `'assign'`: `Set-Cookie` only when a peer is assigned, as the original sticky module and
   * nginx-sticky-module-ng up to 1.2.6 do; `'always'`: on every response, a sliding expiry, as later
   * nginx-sticky-module-ng releases and nginx's built-in `sticky cookie` do. With `token`, `'always'`
   * re-issues the token on every hit.
   * @default 'assign'
   */
  refresh?: 'assign' | 'always' | undefined
  /**
   * Also accept the cookie values that the original sticky module and nginx-sticky-module-ng up to 1.2.6
   * issued (the digest of the peer's Linux `struct sockaddr`, for IP-literal peers only: we do not resolve
   * host names as nginx did) and re-pin such clients to the current value: their decision is a `hit` with
   * a `setCookie`. Needs `md5`, `sha1` or `hmac`; not with `token`.
   * @default false
   */
  legacy?: boolean | undefined
  /**
   * The header carrier: the name of a request and response header (an RFC 9110 field name, such as
   * `'X-Sticky-Route'`) that may carry the pin for clients without a cookie jar (API clients, agents).
   * The adapter passes that request header's value to {@link Balancer.decide} (`header`); when a request
   * has both, the cookie wins. Whenever a decision pins (`setCookie` is set) its
   * {@link PinnedDecision.headerValue} is the value to send back in the same response header. Browsers
   * only let scripts read it when `Access-Control-Expose-Headers` names it.
   */
  header?: string | undefined
  /** Milliseconds since the epoch: drives failure windows, `Expires` and token lifetimes. @default Date.now */
  now?: (() => number) | undefined
}

/** Cookie values are digests of the route key (or the key itself, or an index): no `hmac`, no `token`. */
export interface HashedCookieOptions {
  /** Excludes `hmac` and `token`. @default 'md5' */
  hash?: HashMode | undefined
  /** Not with `hash`: give one or the other. */
  hmac?: undefined
  /** Not with `hash`: a token is not a digest. */
  token?: undefined
}

/** Cookie values are HMACs of the route key: no `hash`, no `token`. */
export interface HmacCookieOptions {
  /** Not with `hmac`: the cookie value is the HMAC. */
  hash?: undefined
  /** Cookie values are the HMAC of the route key (or `route`). Excludes `hash` and `token`. */
  hmac: HmacOptions
  /** Not with `hmac`: a token is signed, not a bare HMAC. */
  token?: undefined
}

/**
 * Cookie values are signed pin tokens (see `createTokenCodec`): no `hash`, `hmac` or `legacy`.
 */
export interface TokenCookieOptions {
  /** Not with `token`. */
  hash?: undefined
  /** Not with `token`. */
  hmac?: undefined
  /**
   * The cookie (and header) value is a pin token: it names the peer by a keyed id of its `route` (or, without
   * one, its route key), carries when the client was first pinned and when the token was issued, and is
   * signed with HMAC-SHA-256 under `keys[0]`; every listed key verifies. An expired token is no cookie
   * (`new`), a token naming a removed peer is `invalid`, and a token signed by an older key or past half of
   * `idle` is re-issued on its hit (`setCookie` set). A peer's `route` must not equal another peer's route
   * key, since both would name the same token id.
   */
  token: TokenOptions
  /** Not with `token`: unsigned digests would let clients pick their peer again. */
  legacy?: false | undefined
}

/**
 * Options of {@link createBalancer}. `hash`, `hmac` and `token` exclude each other (`hash` and `hmac`
 * as in nginx-sticky-module-ng): the type refuses two of them, and so does `createBalancer` at run
 * time. Every level (the options, `cookie`, `hmac`, `token`, each peer) refuses keys it does not know,
 * since a misspelt option would otherwise be silently ignored.
 */
export type BalancerOptions = BalancerBaseOptions & (HashedCookieOptions | HmacCookieOptions | TokenCookieOptions)

/**
 * What happened to a request, and which rule applied: `hit` the cookie (or header) named a usable peer;
 * `new` there was no cookie (or only an expired token); `invalid` the cookie named no peer; `repinned`
 * the cookie named an unusable peer and another was chosen and pinned (`failover: 'repin'`);
 * `temporary` the same, but for this request only, the pin unchanged (`failover: 'temporary'`);
 * `persisted` the cookie named a peer that passive health marks failed, and it got the request anyway
 * (`failover: 'persist'`); `unavailable` no usable peer, or `failover: 'strict'` and the pinned peer is
 * unusable.
 */
export type Outcome = 'hit' | 'new' | 'invalid' | 'repinned' | 'temporary' | 'persisted' | 'unavailable'

/** A decision that names a peer and may (re-)pin the client: any outcome but `temporary` and `unavailable`. Frozen. */
export interface PinnedDecision {
  /** Where to send the request. */
  readonly peer: Peer
  /** A complete `Set-Cookie` header value to append to the response, or null. Never contains request data. */
  readonly setCookie: string | null
  /**
   * With the `header` option: the pin to send in that response header, set exactly when `setCookie` is
   * (a new or re-issued pin); else null. The balancer's `header` is the field name. Never request data.
   */
  readonly headerValue: string | null
  readonly outcome: Exclude<Outcome, 'temporary' | 'unavailable'>
  readonly status: undefined
}

/**
 * `failover: 'temporary'`: the pinned peer is unusable, this request goes to `peer`, and nothing is sent
 * back, so the client keeps its pin. Frozen.
 */
export interface TemporaryDecision {
  readonly peer: Peer
  readonly setCookie: null
  readonly headerValue: null
  readonly outcome: 'temporary'
  readonly status: undefined
}

/** A decision that names a peer: `outcome` is anything but `unavailable`. */
export type RoutedDecision = PinnedDecision | TemporaryDecision

/**
 * No usable peer: answer `status`, 502; or `failover: 'strict'` refused a client pinned to an unusable
 * peer: 502, or the `strictStatus` configured (503). Frozen.
 */
export interface UnavailableDecision {
  readonly peer: null
  readonly setCookie: null
  readonly headerValue: null
  readonly outcome: 'unavailable'
  readonly status: 502 | 503
}

/**
 * The balancer's answer for one request, discriminated by `outcome`: once `outcome !== 'unavailable'`
 * (or `peer !== null`) is checked, `peer` is a {@link Peer}.
 */
export type Decision = RoutedDecision | UnavailableDecision

/** Per-request options of {@link Balancer.decide}. */
export interface DecideOptions {
  /**
   * Peers already tried for this request (retries, nginx's `proxy_next_upstream`): they are not usable
   * for it, so the decision names another one and `setCookie` pins the client there. Matched by `id`.
   */
  exclude?: ReadonlySet<Peer> | readonly Peer[] | undefined
  /**
   * The value of the request header named by the balancer's `header` option, as received (ignored
   * without that option). It counts only when the request has no cookie naming a pin (an expired token
   * counts as none); of a comma-joined list the first member counts. Never throws on it.
   */
  header?: string | null | undefined
}

/**
 * One peer's health as the balancer sees it now ({@link Balancer.health}), for metrics gauges and status
 * pages. Frozen.
 */
export interface PeerHealth {
  /**
   * Whether the peer takes requests now: not `down`, not marked down by active checks, and not failed by
   * passive health (see {@link createBalancer}). A `drain` peer is usable: it serves its pinned clients.
   */
  readonly usable: boolean
  /** What active health checks last said: `'unchecked'` until {@link Balancer.setChecked} was called. */
  readonly checked: CheckedState
  /** Passive failures counted since the last reset (nginx's `fails`). */
  readonly fails: number
}

/** A sticky balancer: see {@link createBalancer}. */
export interface Balancer {
  /**
   * Chooses the peer for a request from its `Cookie` header (and, with the `header` option, that request
   * header, `options.header`). Never throws on request input: a malformed, oversized, duplicated (the
   * first pair counts) or forged cookie is a cookie that names no peer.
   */
  decide(cookieHeader: string | null | undefined, options?: DecideOptions): Decision
  /**
   * Passive health (nginx `max_fails`/`fail_timeout`): `ok = false` counts one failure at `now()` and
   * lowers the peer's round robin weight; `ok = true` forgets the failures if the peer had been handed
   * out after its failure window (see `noteSuccess`). A null or unknown peer is ignored. The peer may
   * be named by its route key (`peer.id`), as when another process reports it.
   */
  report(peer: Peer | string | null, ok: boolean): void
  /**
   * Active health: what a health check concluded about a peer (named by the object or its route key),
   * after its own rises and falls. `up = false` makes the peer unusable as `down` does, until
   * `setChecked(peer, true)`: no new clients, and its pinned clients follow the `failover` rule, even
   * under `'persist'` and even when it is the only peer (then requests get 502). A pure state change:
   * other peers, the round robin and passive failures are untouched (a check neither counts nor
   * clears failures). An unknown peer is ignored.
   *
   * @returns whether the peer's check state changed
   */
  setChecked(peer: Peer | string, up: boolean): boolean
  /** Whether the peer takes requests now ({@link PeerHealth.usable}); false for an unknown peer. Allocation-free. */
  isUsable(peer: Peer | string): boolean
  /** The peer's health now, or undefined for a peer that is not ours. */
  health(peer: Peer | string): PeerHealth | undefined
  /**
   * The value that pins to this peer; with `token`, a token issued at `now()` (a fresh pin).
   * @throws StickyConfigError when the peer is not one of ours.
   */
  cookieValue(peer: Peer): string
  /** The current peers, canonical and frozen, in configuration order. */
  readonly peers: readonly Peer[]
  /** The header carrier's field name as configured (`header`), or undefined: the header adapters read and write. */
  readonly header?: string | undefined
  /**
   * Replaces the peer list, validated as in {@link createBalancer} (on error nothing changes). Peers with
   * the same route key keep their failure state and active check state, and their cookie values unless
   * those depend on the position (`index`). The round robin starts over, as after an nginx reload.
   */
  setPeers(peers: readonly PeerInput[]): void
}

/** Outcomes whose decision may carry a `Set-Cookie`. */
type PinOutcome = PinnedDecision['outcome']

/** One peer and everything precomputed for it. */
interface Slot extends WeightState {
  readonly peer: Peer
  /** The cookie value; `''` with tokens, whose values are issued per request. */
  readonly value: string
  readonly health: HealthState
  /** Without tokens: the pin's `Set-Cookie`. */
  readonly cookie: PinCookie
  /** With tokens: the peer's id under the signing key (set once the peer table is built), and the token last issued for a new pin. */
  tokenId: string
  readonly fresh: FreshToken
  /** Decisions that never carry a `Set-Cookie`, built once. */
  readonly hit: PinnedDecision
  readonly persisted: PinnedDecision
  readonly temporary: TemporaryDecision
  /** Decisions with a `Set-Cookie` that does not depend on the clock, built once; undefined for those that do. */
  readonly constant: Readonly<Record<PinOutcome, PinnedDecision | undefined>>
  /** The last clock-dependent decision per outcome, reused while its `Set-Cookie` text is current. */
  readonly dated: Record<PinOutcome, PinnedDecision | undefined>
}

/**
 * A new pin's token depends only on the peer and the current second (born = issued = now), so the one
 * issued last is reused within that second: a burst of new clients costs one HMAC per peer and second.
 */
interface FreshToken {
  second: number
  value: string
  setCookie: string
}

interface PeerSet {
  readonly primaries: readonly Slot[]
  readonly backups: readonly Slot[]
  readonly byValue: ReadonlyMap<string, { readonly slot: Slot; readonly legacy: boolean }>
  /** With tokens: the peers by the ids tokens name them with, under every key. */
  readonly tokens: TokenPeerTable<Slot> | undefined
  readonly byId: ReadonlyMap<string, Slot>
  readonly peers: readonly Peer[]
  /** nginx ignores failures when the upstream has one server and no backup: there is nowhere else to go. */
  readonly single: boolean
}

interface PickContext {
  readonly now: number
  readonly exclude: DecideOptions['exclude']
  readonly single: boolean
}

/** Everything a request-time helper needs from the options, resolved once. */
interface Setup {
  readonly codec: TokenCodec | undefined
  /** `Set-Cookie` with an empty value: a token is spliced in after `head`. */
  readonly tokenParts: SetCookieParts
  readonly lifetime: number | undefined
  /** Whether decisions carry {@link PinnedDecision.headerValue}. */
  readonly carrier: boolean
}

/** What the request's pin (cookie, else header) turned out to be. */
const ABSENT = 0
const INVALID = 1
const FOUND = 2

/** Longest header-carrier value looked at: longer than any cookie value a user agent keeps. */
const MAX_CARRIED = 4096

const UNAVAILABLE: UnavailableDecision = Object.freeze({ peer: null, setCookie: null, headerValue: null, outcome: 'unavailable', status: 502 })
const REFUSED_503: UnavailableDecision = Object.freeze({ peer: null, setCookie: null, headerValue: null, outcome: 'unavailable', status: 503 })

/**
 * Creates a sticky balancer (nginx `sticky cookie`). Every option is validated here, once; a bad one
 * throws {@link StickyConfigError} naming it and its value. Cookie values, the value-to-peer map and
 * each peer's `Set-Cookie` are computed here too, so that a request costs one header scan and one map
 * lookup, and a hit allocates at most its decision. With `token`, a hit on a token that needs no
 * re-issue costs a cache lookup more and allocates nothing.
 *
 * A peer is usable when it is not `down`, not marked down by active health checks (`setChecked`), not
 * excluded for the request, and not failed: it has fewer than `maxFails` failures, or `failTimeout`
 * passed since the last one (then one request probes it; see `noteSelected`). As in nginx, passive
 * failures are ignored when the list is a single peer without backups (a failed check is not).
 * A `drain` peer only takes clients pinned to it. Backups take new clients only when no primary is
 * usable; a cookie naming a backup is honoured. What a client pinned to an unusable peer gets is the
 * `failover` rule.
 *
 * Two balancers built from the same options issue the same cookie values (and tokens): instances agree
 * without sharing state. All state (round robin, failures, the token cache) lives in the returned object.
 *
 * @throws StickyConfigError for any invalid option.
 */
export function createBalancer(options: BalancerOptions): Balancer {
  const resolved = resolveOptions(options)
  const { cookieName, failover, refresh, header } = resolved
  const clock = resolved.now
  const codec = resolved.token
  const setup: Setup = {
    codec,
    tokenParts: serializeCookieParts(cookieName, '', resolved.attributes, 'cookie'),
    lifetime: resolved.lifetime,
    carrier: header !== undefined,
  }
  const refused = resolved.strictStatus === 503 ? REFUSED_503 : UNAVAILABLE
  let set = buildPeerSet(options.peers, resolved, setup, undefined)

  // What find() found, handed back without allocating: the peer, and why its pin must be written again
  // (a legacy value, or a token's born time when it needs re-issue; NaN when it does not).
  let foundSlot: Slot | undefined
  let foundLegacy = false
  let foundBorn = Number.NaN

  function find(value: string, now: number): number {
    if (codec === undefined) {
      const entry = set.byValue.get(value)
      if (entry === undefined) return INVALID
      foundSlot = entry.slot
      foundLegacy = entry.legacy
      return FOUND
    }
    const reading = codec.read(value, now)
    // An expired pin is no pin: the client is new, not a client whose cookie is wrong.
    if (reading.status === 'expired') return ABSENT
    if (reading.status !== 'valid') return INVALID
    const slot = set.tokens!.peerOf(reading)
    if (slot === undefined) return INVALID
    foundSlot = slot
    foundLegacy = false
    foundBorn = reading.needsReissue ? reading.born : Number.NaN
    return FOUND
  }

  function decide(cookieHeader: string | null | undefined, decideOptions?: DecideOptions): Decision {
    const now = clock()
    const exclude = decideOptions?.exclude
    let value: string | undefined
    try {
      value = parseCookie(cookieHeader, cookieName)
    } catch {
      value = undefined
    }
    foundBorn = Number.NaN
    let found = value === undefined ? ABSENT : find(value, now)
    if (found === ABSENT && header !== undefined) {
      const carried = carriedValue(decideOptions?.header)
      if (carried !== undefined) found = find(carried, now)
    }
    if (found === ABSENT) return assign(set, setup, 'new', now, exclude)
    if (found === INVALID) return assign(set, setup, 'invalid', now, exclude)
    const slot = foundSlot!
    foundSlot = undefined
    const { peer } = slot
    if (!isOut(slot) && !isExcluded(peer, exclude)) {
      const healthy = set.single || isHealthy(slot.health, peer, now)
      if (healthy || failover === 'persist') {
        noteSelected(slot.health, peer, now)
        return pinnedHit(slot, healthy ? 'hit' : 'persisted', now)
      }
    }
    if (failover === 'strict') return refused
    if (failover === 'temporary') {
      const other = pick(set, now, exclude)
      if (other === undefined) return UNAVAILABLE
      noteSelected(other.health, other.peer, now)
      return other.temporary
    }
    return assign(set, setup, 'repinned', now, exclude)
  }

  /** The decision for a usable pinned peer: no `Set-Cookie` unless the pin must be written again. */
  function pinnedHit(slot: Slot, outcome: 'hit' | 'persisted', now: number): Decision {
    const plain = outcome === 'hit' ? slot.hit : slot.persisted
    if (codec !== undefined) {
      if (Number.isNaN(foundBorn) && refresh !== 'always') return plain
      // A re-issue keeps the first pin's time (maxAge counts from it) and is signed by the first key.
      const born = Number.isNaN(foundBorn) ? undefined : foundBorn
      const token = codec.issue(slot.tokenId, now, born)
      return Object.freeze({
        peer: slot.peer,
        setCookie: tokenCookie(setup, token, now),
        headerValue: setup.carrier ? token : null,
        outcome,
        status: undefined,
      })
    }
    if (foundLegacy || refresh === 'always') return slot.constant[outcome] ?? dated(slot, setup, outcome, now)
    return plain
  }

  function report(peer: Peer | string | null, ok: boolean): void {
    const slot = slotOf(set, peer)
    if (slot === undefined) return
    if (ok) {
      noteSuccess(slot.health)
    } else {
      noteFailure(slot.health, clock())
      noteWeightFailure(slot, slot.peer.maxFails)
    }
  }

  function setChecked(peer: Peer | string, up: boolean): boolean {
    const slot = slotOf(set, peer)
    const state: CheckedState = up ? 'up' : 'down'
    if (slot === undefined || slot.health.active === state) return false
    slot.health.active = state
    return true
  }

  function isUsable(peer: Peer | string): boolean {
    const slot = slotOf(set, peer)
    return slot !== undefined && usable(set, slot, clock())
  }

  function health(peer: Peer | string): PeerHealth | undefined {
    const slot = slotOf(set, peer)
    if (slot === undefined) return undefined
    return Object.freeze({ usable: usable(set, slot, clock()), checked: slot.health.active, fails: slot.health.fails })
  }

  function cookieValue(peer: Peer): string {
    const slot = typeof peer === 'object' && peer !== null ? set.byId.get(peer.id) : undefined
    if (slot === undefined) throw new StickyConfigError('peer', peer, 'not a peer of this balancer')
    return codec === undefined ? slot.value : codec.issue(slot.tokenId, clock())
  }

  function setPeers(peers: readonly PeerInput[]): void {
    set = buildPeerSet(peers, resolved, setup, set)
  }

  return Object.freeze({
    decide,
    report,
    setChecked,
    isUsable,
    health,
    cookieValue,
    get peers(): readonly Peer[] {
      return set.peers
    },
    header,
    setPeers,
  })
}

/**
 * The pin a header carries: the first member of a comma-joined list, without surrounding whitespace.
 * Anything else (not a string, oversized) is no pin. Allocates only when there is something to cut.
 */
function carriedValue(raw: unknown): string | undefined {
  const given: unknown = Array.isArray(raw) ? (raw as unknown[])[0] : raw
  if (typeof given !== 'string' || given.length === 0 || given.length > MAX_CARRIED) return undefined
  let value = given
  const comma = value.indexOf(',')
  if (comma >= 0) value = value.slice(0, comma)
  const first = value.charCodeAt(0)
  const last = value.charCodeAt(value.length - 1)
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) value = value.replace(/^[ \t]+|[ \t]+$/g, '')
  return value.length === 0 ? undefined : value
}

/** The slot of a peer given as an object or a route key; undefined for anything else. */
function slotOf(set: PeerSet, peer: unknown): Slot | undefined {
  if (typeof peer === 'string') return set.byId.get(peer)
  if (typeof peer !== 'object' || peer === null) return undefined
  const id = (peer as { id?: unknown }).id
  return typeof id === 'string' ? set.byId.get(id) : undefined
}

/**
 * Whether the peer is out of service whatever passive health says: configured `down`, or marked down
 * by active health checks (`setChecked`), under every failover rule, `persist` included.
 */
function isOut(slot: Slot): boolean {
  return slot.peer.down || slot.health.active === 'down'
}

/** Whether a pinned client may be sent to the peer: {@link PeerHealth.usable}. */
function usable(set: PeerSet, slot: Slot, now: number): boolean {
  return !isOut(slot) && (set.single || isHealthy(slot.health, slot.peer, now))
}

function pick(set: PeerSet, now: number, exclude: DecideOptions['exclude']): Slot | undefined {
  const context: PickContext = { now, exclude, single: set.single }
  return pickSmoothWeighted(set.primaries, takesNewClients, context) ?? pickSmoothWeighted(set.backups, takesNewClients, context)
}

function assign(set: PeerSet, setup: Setup, outcome: 'new' | 'invalid' | 'repinned', now: number, exclude: DecideOptions['exclude']): Decision {
  const slot = pick(set, now, exclude)
  if (slot === undefined) return UNAVAILABLE
  noteSelected(slot.health, slot.peer, now)
  return slot.constant[outcome] ?? dated(slot, setup, outcome, now)
}

function takesNewClients(slot: Slot, context: PickContext): boolean {
  const { peer } = slot
  return !isOut(slot) && !peer.drain && (context.single || isHealthy(slot.health, peer, context.now)) && !isExcluded(peer, context.exclude)
}

function isExcluded(peer: Peer, exclude: DecideOptions['exclude']): boolean {
  if (exclude === undefined || exclude === null) return false
  if (Array.isArray(exclude)) {
    for (let i = 0; i < exclude.length; i++) {
      const other = exclude[i] as Peer | null | undefined
      if (other === peer || other?.id === peer.id) return true
    }
    return false
  }
  const tried = exclude as ReadonlySet<Peer>
  if (typeof tried.has !== 'function' || tried.size === 0) return false
  if (tried.has(peer)) return true
  // Peers handed out before a setPeers are other objects for the same route key.
  for (const other of tried) if ((other as Peer | null | undefined)?.id === peer.id) return true
  return false
}

/** The `Set-Cookie` carrying `token`, with `Expires` from `now` when the cookie has a lifetime. */
function tokenCookie(setup: Setup, token: string, now: number): string {
  const { tokenParts: parts, lifetime } = setup
  const head = parts.head + token
  if (lifetime === undefined) return head + parts.beforeExpires + parts.afterExpires
  const expires = (Math.floor(now / 1000) + lifetime) * 1000
  return joinCookieParts({ head, beforeExpires: parts.beforeExpires, afterExpires: parts.afterExpires }, expires <= HTTP_DATE_MAX ? expires : undefined)
}

/** A new pin's token and its `Set-Cookie` at `now`: the slot's token of the current second. */
function freshToken(slot: Slot, codec: TokenCodec, setup: Setup, now: number): FreshToken {
  const second = Math.floor(now / 1000)
  const fresh = slot.fresh
  if (fresh.second !== second) {
    const token = codec.issue(slot.tokenId, now)
    fresh.value = token
    fresh.setCookie = tokenCookie(setup, token, now)
    fresh.second = second
  }
  return fresh
}

function dated(slot: Slot, setup: Setup, outcome: PinOutcome, now: number): PinnedDecision {
  let setCookie: string
  let value: string
  if (setup.codec === undefined) {
    setCookie = renderPinCookie(slot.cookie, now)
    value = slot.value
  } else {
    const pin = freshToken(slot, setup.codec, setup, now)
    setCookie = pin.setCookie
    value = pin.value
  }
  // The header text changes at most once a second, so the decision carrying it can be reused until then.
  const cached = slot.dated[outcome]
  if (cached !== undefined && cached.setCookie === setCookie) return cached
  const decision: PinnedDecision = Object.freeze({ peer: slot.peer, setCookie, headerValue: setup.carrier ? value : null, outcome, status: undefined })
  slot.dated[outcome] = decision
  return decision
}

function buildPeerSet(input: unknown, options: ResolvedOptions, setup: Setup, previous: PeerSet | undefined): PeerSet {
  const parsed = parsePeers(input)
  const { codec } = setup
  const values = codec === undefined ? computeCookieValues(parsed, options) : undefined
  if (codec !== undefined) assertTokenNames(parsed)
  const all: Slot[] = []
  const byValue = new Map<string, { slot: Slot; legacy: boolean }>()
  const byId = new Map<string, Slot>()
  const names: (readonly [string, Slot])[] = []
  for (let i = 0; i < parsed.length; i++) {
    const candidate = parsed[i]!.peer
    const before = previous?.byId.get(candidate.id)
    // An unchanged peer stays the same object, so that callers' maps and exclude sets keep working.
    const peer = before !== undefined && samePeer(before.peer, candidate) ? before.peer : candidate
    const { value, legacy } = values?.[i] ?? { value: '', legacy: [] }
    const cookie = createPinCookie(serializeCookieParts(options.cookieName, value, options.attributes, 'cookie'), options.lifetime)
    // With tokens every pin is a new token: no Set-Cookie text is the same at every instant.
    const constant = codec === undefined && isConstantPinCookie(cookie)
    const headerValue = setup.carrier ? value : null
    const decision = (outcome: PinOutcome): PinnedDecision | undefined =>
      constant ? Object.freeze({ peer, setCookie: cookie.text, headerValue, outcome, status: undefined }) : undefined
    // The round robin fields are written out, not spread: a spread makes V8 store the fields after it
    // out of line, which made each peer scanned by an assignment several times slower at 10 000 peers.
    const weights = createWeightState(peer.weight)
    const slot: Slot = {
      weight: weights.weight,
      current: weights.current,
      effective: weights.effective,
      peer,
      value,
      health: before?.health ?? createHealthState(),
      cookie,
      tokenId: '',
      fresh: { second: Number.NaN, value: '', setCookie: '' },
      hit: Object.freeze({ peer, setCookie: null, headerValue: null, outcome: 'hit', status: undefined }),
      persisted: Object.freeze({ peer, setCookie: null, headerValue: null, outcome: 'persisted', status: undefined }),
      temporary: Object.freeze({ peer, setCookie: null, headerValue: null, outcome: 'temporary', status: undefined }),
      constant: { hit: decision('hit'), new: decision('new'), invalid: decision('invalid'), repinned: decision('repinned'), persisted: decision('persisted') },
      dated: { hit: undefined, new: undefined, invalid: undefined, repinned: undefined, persisted: undefined },
    }
    all.push(slot)
    byId.set(peer.id, slot)
    if (codec === undefined) {
      byValue.set(value, { slot, legacy: false })
      for (const old of legacy) byValue.set(old, { slot, legacy: true })
    } else {
      names.push([tokenName(peer), slot])
    }
  }
  const tokens = codec?.peerTable(names)
  if (tokens !== undefined) for (const slot of all) slot.tokenId = tokens.idOf(slot)!
  const primaries = all.filter((s) => !s.peer.backup)
  const backups = all.filter((s) => s.peer.backup)
  return {
    primaries,
    backups,
    byValue,
    tokens,
    byId,
    peers: Object.freeze(all.map((s) => s.peer)),
    single: primaries.length === 1 && backups.length === 0,
  }
}

/** What stays the same for a peer while the list changes: its `route`, else its route key. */
function tokenName(peer: Peer): string {
  return peer.route ?? peer.id
}

/**
 * Tokens name a peer by its `route` or, without one, its route key, in one namespace: a `route` equal to
 * another peer's route key (or route) would make both peers one name, and one peer's clients the other's.
 */
function assertTokenNames(parsed: readonly ParsedPeer[]): void {
  const owner = new Map<string, ParsedPeer>()
  for (const item of parsed) {
    const name = tokenName(item.peer)
    const other = owner.get(name)
    if (other !== undefined) {
      const field = item.peer.route !== undefined ? 'route' : 'address'
      throw new StickyConfigError(
        `peers[${item.index}].${field}`,
        field === 'route' ? item.peer.route : item.peer.address,
        `with token, peers are named by route or route key: ${JSON.stringify(name)} also names peers[${other.index}]`,
      )
    }
    owner.set(name, item)
  }
}

function samePeer(a: Peer, b: Peer): boolean {
  return (
    a.id === b.id &&
    a.address === b.address &&
    a.route === b.route &&
    a.weight === b.weight &&
    a.backup === b.backup &&
    a.down === b.down &&
    a.drain === b.drain &&
    a.maxFails === b.maxFails &&
    a.failTimeout === b.failTimeout &&
    a.target.origin === b.target.origin
  )
}
