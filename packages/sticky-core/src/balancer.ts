import { createWeightState, noteWeightFailure, pickSmoothWeighted, type WeightState } from './balance'
import { parseCookie, serializeCookieParts, type SameSite } from './cookie'
import { computeCookieValues } from './cookie-value'
import { StickyConfigError } from './errors'
import type { Duration } from './duration'
import type { HmacAlgorithm } from './hash'
import { createHealthState, isHealthy, noteFailure, noteSelected, noteSuccess, type HealthState } from './health'
import { resolveOptions, type ResolvedOptions } from './options'
import { parsePeers, type Peer, type PeerInput } from './peers'
import { createPinCookie, isConstantPinCookie, renderPinCookie, type PinCookie } from './pin-cookie'

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

/** The options of {@link createBalancer} other than the cookie value's derivation (`hash` or `hmac`). */
export interface BalancerBaseOptions {
  /** The upstream peers, in order (nginx `server` lines). At least one must not be a backup. */
  peers: readonly PeerInput[]
  cookie?: StickyCookieOptions | undefined
  /**
   * `false` is nginx-sticky-module-ng's `no_fallback`: when the cookie names a peer that is not usable,
   * answer 502 instead of pinning the client to another peer. Clients without a valid cookie are
   * balanced anyway.
   * @default true
   */
  fallback?: boolean | undefined
  /**
   * `'assign'`: `Set-Cookie` only when a peer is assigned, as the original sticky module and
   * nginx-sticky-module-ng up to 1.2.6 do; `'always'`: on every response, a sliding expiry, as later
   * nginx-sticky-module-ng releases and nginx's built-in `sticky cookie` do.
   * @default 'assign'
   */
  refresh?: 'assign' | 'always' | undefined
  /**
   * Also accept the cookie values that the original sticky module and nginx-sticky-module-ng up to 1.2.6
   * issued (the digest of the peer's Linux `struct sockaddr`, for IP-literal peers only: we do not resolve
   * host names as nginx did) and re-pin such clients to the current value: their decision is a `hit` with
   * a `setCookie`. Needs `md5`, `sha1` or `hmac`.
   * @default false
   */
  legacy?: boolean | undefined
  /** Milliseconds since the epoch: drives failure windows and `Expires`. @default Date.now */
  now?: (() => number) | undefined
}

/** Cookie values are digests of the route key (or the key itself, or an index): no `hmac`. */
export interface HashedCookieOptions {
  /** Excludes `hmac`. @default 'md5' */
  hash?: HashMode | undefined
  /** Not with `hash`: give one or the other. */
  hmac?: undefined
}

/** Cookie values are HMACs of the route key: no `hash`. */
export interface HmacCookieOptions {
  /** Not with `hmac`: the cookie value is the HMAC. */
  hash?: undefined
  /** Cookie values are the HMAC of the route key (or `route`). Excludes `hash`. */
  hmac: HmacOptions
}

/**
 * Options of {@link createBalancer}. `hash` and `hmac` exclude each other, as in
 * nginx-sticky-module-ng: the type refuses both, and so does `createBalancer` at run time. Every level
 * (the options, `cookie`, `hmac`, each peer) refuses keys it does not know, since a misspelt option
 * would otherwise be silently ignored.
 */
export type BalancerOptions = BalancerBaseOptions & (HashedCookieOptions | HmacCookieOptions)

/**
 * What happened to a request: `hit` the cookie named a usable peer; `new` there was no cookie; `invalid`
 * the cookie named no peer; `repinned` the cookie named an unusable peer and another was chosen;
 * `unavailable` no usable peer (or `fallback: false` and the pinned peer is unusable).
 */
export type Outcome = 'hit' | 'new' | 'invalid' | 'repinned' | 'unavailable'

/** A decision that names a peer: `outcome` is anything but `unavailable`. Frozen. */
export interface RoutedDecision {
  /** Where to send the request. */
  readonly peer: Peer
  /** A complete `Set-Cookie` header value to append to the response, or null. Never contains request data. */
  readonly setCookie: string | null
  readonly outcome: Exclude<Outcome, 'unavailable'>
  readonly status: undefined
}

/** No usable peer (or `fallback: false` and the pinned peer is unusable): answer 502. Frozen. */
export interface UnavailableDecision {
  readonly peer: null
  readonly setCookie: null
  readonly outcome: 'unavailable'
  readonly status: 502
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
}

/** A sticky balancer: see {@link createBalancer}. */
export interface Balancer {
  /**
   * Chooses the peer for a request from its `Cookie` header. Never throws on request input: a malformed,
   * oversized, duplicated (the first pair counts) or forged cookie is a cookie that names no peer.
   */
  decide(cookieHeader: string | null | undefined, options?: DecideOptions): Decision
  /**
   * Passive health (nginx `max_fails`/`fail_timeout`): `ok = false` counts one failure at `now()` and
   * lowers the peer's round robin weight; `ok = true` forgets the failures if the peer had been handed
   * out after its failure window (see `noteSuccess`). A null or unknown peer is ignored.
   */
  report(peer: Peer | null, ok: boolean): void
  /** The value that pins to this peer. @throws StickyConfigError when the peer is not one of ours. */
  cookieValue(peer: Peer): string
  /** The current peers, canonical and frozen, in configuration order. */
  readonly peers: readonly Peer[]
  /**
   * Replaces the peer list, validated as in {@link createBalancer} (on error nothing changes). Peers with
   * the same route key keep their failure state, and their cookie values unless those depend on the
   * position (`index`). The round robin starts over, as after an nginx reload.
   */
  setPeers(peers: readonly PeerInput[]): void
}

/** One peer and everything precomputed for it. */
interface Slot extends WeightState {
  readonly peer: Peer
  readonly value: string
  readonly health: HealthState
  readonly cookie: PinCookie
  /** Decisions that do not depend on the clock, built once; undefined for the ones that do. */
  readonly hit: Decision
  readonly pinned: Decision | undefined
  readonly fresh: Decision | undefined
  readonly invalid: Decision | undefined
  readonly repinned: Decision | undefined
  /** The last clock-dependent decision per outcome, reused while its `Set-Cookie` text is current. */
  readonly dated: DatedDecisions
}

/** Mutable cache of {@link Slot.dated}; one field per outcome keeps the object's shape fixed. */
interface DatedDecisions {
  hit: Decision | undefined
  new: Decision | undefined
  invalid: Decision | undefined
  repinned: Decision | undefined
}

interface PeerSet {
  readonly primaries: readonly Slot[]
  readonly backups: readonly Slot[]
  readonly byValue: ReadonlyMap<string, { readonly slot: Slot; readonly legacy: boolean }>
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

const UNAVAILABLE: UnavailableDecision = Object.freeze({ peer: null, setCookie: null, outcome: 'unavailable', status: 502 })

/**
 * Creates a sticky balancer (nginx `sticky cookie`). Every option is validated here, once; a bad one
 * throws {@link StickyConfigError} naming it and its value. Cookie values, the value-to-peer map and
 * each peer's `Set-Cookie` are computed here too, so that a request costs one header scan and one map
 * lookup, and a hit allocates at most its decision.
 *
 * A peer is usable when it is not `down`, not excluded for the request, and not failed: it has fewer
 * than `maxFails` failures, or `failTimeout` passed since the last one (then one request probes it;
 * see `noteSelected`). As in nginx, failures are ignored when the list is a single peer without backups.
 * A `drain` peer only takes clients pinned to it. Backups take new clients only when no primary is
 * usable; a cookie naming a backup is honoured.
 *
 * Two balancers built from the same options issue the same cookie values: instances agree without
 * sharing state. All state (round robin, failures) lives in the returned object.
 *
 * @throws StickyConfigError for any invalid option.
 */
export function createBalancer(options: BalancerOptions): Balancer {
  const resolved = resolveOptions(options)
  const { cookieName, fallback, refresh } = resolved
  const clock = resolved.now
  let set = buildPeerSet(options.peers, resolved, undefined)

  function decide(cookieHeader: string | null | undefined, decideOptions?: DecideOptions): Decision {
    const now = clock()
    const exclude = decideOptions?.exclude
    let value: string | undefined
    try {
      value = parseCookie(cookieHeader, cookieName)
    } catch {
      value = undefined
    }
    if (value === undefined) return assign(set, 'new', now, exclude)
    const entry = set.byValue.get(value)
    if (entry === undefined) return assign(set, 'invalid', now, exclude)
    const { slot } = entry
    if (!slot.peer.down && (set.single || isHealthy(slot.health, slot.peer, now)) && !isExcluded(slot.peer, exclude)) {
      noteSelected(slot.health, slot.peer, now)
      if (entry.legacy || refresh === 'always') return slot.pinned ?? dated(slot, 'hit', now)
      return slot.hit
    }
    if (!fallback) return UNAVAILABLE
    return assign(set, 'repinned', now, exclude)
  }

  function report(peer: Peer | null, ok: boolean): void {
    if (peer === null || typeof peer !== 'object') return
    const slot = set.byId.get(peer.id)
    if (slot === undefined) return
    if (ok) {
      noteSuccess(slot.health)
    } else {
      noteFailure(slot.health, clock())
      noteWeightFailure(slot, slot.peer.maxFails)
    }
  }

  function cookieValue(peer: Peer): string {
    const slot = typeof peer === 'object' && peer !== null ? set.byId.get(peer.id) : undefined
    if (slot === undefined) throw new StickyConfigError('peer', peer, 'not a peer of this balancer')
    return slot.value
  }

  function setPeers(peers: readonly PeerInput[]): void {
    set = buildPeerSet(peers, resolved, set)
  }

  return Object.freeze({
    decide,
    report,
    cookieValue,
    get peers(): readonly Peer[] {
      return set.peers
    },
    setPeers,
  })
}

function assign(set: PeerSet, outcome: 'new' | 'invalid' | 'repinned', now: number, exclude: DecideOptions['exclude']): Decision {
  const context: PickContext = { now, exclude, single: set.single }
  const slot = pickSmoothWeighted(set.primaries, takesNewClients, context) ?? pickSmoothWeighted(set.backups, takesNewClients, context)
  if (slot === undefined) return UNAVAILABLE
  noteSelected(slot.health, slot.peer, now)
  const constant = outcome === 'new' ? slot.fresh : outcome === 'invalid' ? slot.invalid : slot.repinned
  return constant ?? dated(slot, outcome, now)
}

function takesNewClients(slot: Slot, context: PickContext): boolean {
  const { peer } = slot
  return !peer.down && !peer.drain && (context.single || isHealthy(slot.health, peer, context.now)) && !isExcluded(peer, context.exclude)
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

function dated(slot: Slot, outcome: Exclude<Outcome, 'unavailable'>, now: number): Decision {
  const setCookie = renderPinCookie(slot.cookie, now)
  // The header text changes at most once a second, so the decision carrying it can be reused until then.
  const cached = slot.dated[outcome]
  if (cached !== undefined && cached.setCookie === setCookie) return cached
  const decision: Decision = Object.freeze({ peer: slot.peer, setCookie, outcome, status: undefined })
  slot.dated[outcome] = decision
  return decision
}

function buildPeerSet(input: unknown, options: ResolvedOptions, previous: PeerSet | undefined): PeerSet {
  const parsed = parsePeers(input)
  const values = computeCookieValues(parsed, options)
  const all: Slot[] = []
  const byValue = new Map<string, { slot: Slot; legacy: boolean }>()
  const byId = new Map<string, Slot>()
  for (let i = 0; i < parsed.length; i++) {
    const candidate = parsed[i]!.peer
    const before = previous?.byId.get(candidate.id)
    // An unchanged peer stays the same object, so that callers' maps and exclude sets keep working.
    const peer = before !== undefined && samePeer(before.peer, candidate) ? before.peer : candidate
    const { value, legacy } = values[i]!
    const cookie = createPinCookie(serializeCookieParts(options.cookieName, value, options.attributes, 'cookie'), options.lifetime)
    const constant = isConstantPinCookie(cookie)
    const decision = (outcome: Exclude<Outcome, 'unavailable'>): Decision | undefined =>
      constant ? Object.freeze({ peer, setCookie: cookie.text, outcome, status: undefined }) : undefined
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
      hit: Object.freeze({ peer, setCookie: null, outcome: 'hit', status: undefined }),
      pinned: decision('hit'),
      fresh: decision('new'),
      invalid: decision('invalid'),
      repinned: decision('repinned'),
      dated: { hit: undefined, new: undefined, invalid: undefined, repinned: undefined },
    }
    all.push(slot)
    byId.set(peer.id, slot)
    byValue.set(value, { slot, legacy: false })
    for (const old of legacy) byValue.set(old, { slot, legacy: true })
  }
  const primaries = all.filter((s) => !s.peer.backup)
  const backups = all.filter((s) => s.peer.backup)
  return {
    primaries,
    backups,
    byValue,
    byId,
    peers: Object.freeze(all.map((s) => s.peer)),
    single: primaries.length === 1 && backups.length === 0,
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
