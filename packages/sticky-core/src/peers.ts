// STUB: being written. Types are the contract.
/** A peer as given in the options: a string is an address. */
export type PeerInput = string | PeerOptions

/** A peer with its per-server parameters (nginx `server` parameters). */
export interface PeerOptions {
  /** `ip:port`, `[v6]:port`, `host:port`, `unix:/path`, or an `http(s)://host[:port]` URL. */
  address: string
  /** Relative share of new clients. @default 1 */
  weight?: number | undefined
  /** Failures within `failTimeout` that make the peer unusable; 0 disables tracking. @default 1 */
  maxFails?: number | undefined
  /** Milliseconds. @default 10000 */
  failTimeout?: number | undefined
  /** The cookie value that pins to this peer, verbatim (nginx `route=`). */
  route?: string | undefined
  /** Takes new clients only when no primary is usable. @default false */
  backup?: boolean | undefined
  /** Permanently unusable. @default false */
  down?: boolean | undefined
  /** Takes only clients already pinned to it (hits), never new ones. @default false */
  drain?: boolean | undefined
}

/** A configured peer, canonicalised. Immutable. */
export interface Peer {
  /** The route key: `ip:port`, `[v6]:port`, `host:port` or `unix:/path`. Unique within a balancer. */
  readonly id: string
  /** Canonical address: the route key, or for a URL peer its origin `scheme://host:port`. */
  readonly address: string
  /** Explicit cookie value (`route=`), if configured. */
  readonly route: string | undefined
  readonly weight: number
  readonly backup: boolean
  readonly down: boolean
  readonly drain: boolean
  readonly maxFails: number
  readonly failTimeout: number
  /** Where to connect. */
  readonly target: PeerTarget
}

/** How an adapter reaches a peer. */
export type PeerTarget =
  | { readonly kind: 'tcp'; readonly protocol: 'http:' | 'https:'; readonly host: string; readonly port: number; readonly origin: string }
  | { readonly kind: 'unix'; readonly protocol: 'http:'; readonly socketPath: string; readonly origin: string }
