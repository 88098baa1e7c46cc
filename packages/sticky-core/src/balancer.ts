// STUB: being written. Types are the contract (see DESIGN.md).
import type { HmacAlgorithm } from './hash'
import type { SameSite } from './cookie'
import type { Peer, PeerInput } from './peers'

/** How the cookie value is derived from a peer's route key. */
export type HashMode = 'md5' | 'sha1' | 'index' | 'raw'

/** The sticky cookie's name and attributes. */
export interface StickyCookieOptions {
  /** @default 'route' */
  name?: string | undefined
  /** @default '/' */
  path?: string | undefined
  domain?: string | undefined
  /** Lifetime in seconds, or `'max'` (400 days, the longest browsers keep). Absent: a session cookie. */
  expires?: number | 'max' | undefined
  secure?: boolean | undefined
  httpOnly?: boolean | undefined
  sameSite?: SameSite | undefined
  partitioned?: boolean | undefined
}

/** HMAC of the route key instead of a plain digest (nginx-sticky-module-ng `hmac=` / `hmac_key=`). */
export interface HmacOptions {
  algorithm: HmacAlgorithm
  key: string | Uint8Array
}

/** Options of {@link createBalancer}. */
export interface BalancerOptions {
  peers: readonly PeerInput[]
  cookie?: StickyCookieOptions | undefined
  /** @default 'md5' */
  hash?: HashMode | undefined
  hmac?: HmacOptions | undefined
  /** @default true */
  fallback?: boolean | undefined
  /** @default 'assign' */
  refresh?: 'assign' | 'always' | undefined
  /** @default false */
  legacy?: boolean | undefined
  /** Milliseconds since the epoch. @default Date.now */
  now?: (() => number) | undefined
}

/** What happened to a request. */
export type Outcome = 'hit' | 'new' | 'invalid' | 'repinned' | 'unavailable'

/** The balancer's answer for one request. */
export interface Decision {
  readonly peer: Peer | null
  readonly setCookie: string | null
  readonly outcome: Outcome
  readonly status: 502 | undefined
}

/** Per-request options of {@link Balancer.decide}. */
export interface DecideOptions {
  /** Peers already tried for this request (retries). */
  exclude?: ReadonlySet<Peer> | readonly Peer[] | undefined
}

export interface Balancer {
  decide(cookieHeader: string | null | undefined, options?: DecideOptions): Decision
  report(peer: Peer | null, ok: boolean): void
  cookieValue(peer: Peer): string
  readonly peers: readonly Peer[]
  setPeers(peers: readonly PeerInput[]): void
}

export function createBalancer(_options: BalancerOptions): Balancer { throw new Error('not implemented') }
