import type { Balancer, BalancerOptions } from 'sticky-core'

/** What the hostile kits ask an adapter build for. Plain data: it crosses into a child process as JSON. */
export interface HostileOptions {
  /** Balancer options; every peer is a `127.0.0.1:<port>` address of a kit-controlled server. */
  readonly balancer: BalancerOptions
  /** Retries on another peer (`proxy.retries`, or the adapter's equivalent). */
  readonly retries?: number
  /** Upstream timeout in milliseconds (`proxy.timeout`, or the adapter's equivalent). */
  readonly timeoutMs?: number
  /**
   * Install an `onResponse` hook that throws (only asked of adapters with the `onResponse`
   * capability). The proxy must survive its own user's broken hook.
   */
  readonly throwingHook?: boolean
}

/** What an in-process build of the adapter returns. */
export interface HostileBuilt {
  /** Base URL, `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string
  /** Stops listening and releases every resource (connection pools included) the adapter holds. */
  close(): Promise<void>
  /**
   * The balancer that routes the adapter's requests, when the adapter exposes it (or was given
   * it): the kits read the peers' passive health from it. Without it, blame is observed black-box.
   */
  readonly balancer?: Balancer
  /**
   * Whether the peer at `address` is usable now for a client pinned to it by `cookie`, when the
   * balancer lives where `balancer` cannot reach it (another runtime) but can be asked.
   */
  readonly usable?: (address: string, cookie: string) => Promise<boolean>
  /**
   * The response field the harness sets on a 500 it produced because the adapter threw. When
   * given, a 500 without it comes from the runtime itself (which refused the request before the
   * adapter ran) and is not counted against the adapter by the client kit.
   */
  readonly throwMarker?: string
}

/** Builds and starts the adapter in the current process. */
export type HostileBuild = (options: HostileOptions) => Promise<HostileBuilt>

/** A running adapter, as the kits drive it (possibly in another process). */
export interface RunningHostile {
  readonly url: string
  close(): Promise<void>
  /**
   * Whether the peer at `address` is usable now for a client pinned to it by `cookie` (a whole
   * `Cookie` header value), asked of the adapter's own balancer. `undefined`: the balancer is not
   * reachable, and the kit probes black-box instead.
   */
  readonly usable: ((address: string, cookie: string) => Promise<boolean>) | undefined
  /** Why the process hosting the adapter died, or `undefined` while it lives. */
  crashed(): string | undefined
  /** See {@link HostileBuilt.throwMarker}. */
  readonly throwMarker: string | undefined
}

/** Starts an adapter for the hostile kits. `dispose` (if any) ends whatever the factory keeps (a child process). */
export interface HostileFactory {
  (options: HostileOptions): Promise<RunningHostile>
  dispose?(): Promise<void>
}

/**
 * What a runtime does to a peer's answer that no adapter on it can change. An adapter names the
 * limits of its runtime, each with the reason printed when the kit runs; the cases a limit concerns
 * then accept the outcome the runtime allows instead of failing, and every other check (no hang, a
 * valid head and framing for the client, the process alive, the connection closed) still holds.
 *
 * - `refuses-interim-100`: the HTTP client closes the connection on any interim `100` (undici's
 *   HTTP/1.1 client): 502, nobody blamed (`proxy-failed`), whatever the peer does next.
 * - `interim-as-final`: the runtime's fetch resolves with the first interim (`1xx`) response as if
 *   it were the answer: 502, nobody blamed.
 * - `protocol-as-lost-connection`: an answer that is not HTTP rejects the runtime's fetch as a lost
 *   connection does: judged as a failed connection (blamed, retried when the policy allows).
 * - `bare-cr-ends-line`: the runtime's parser ends a head line at a bare CR and reads on: only the
 *   safety checks hold for a head with a bare CR.
 * - `lenient-content-length`: the runtime drops an invalid `Content-Length` and hides it, reading
 *   the body to the close: only the safety checks hold (a peer that then holds the connection is
 *   blamed for its silence).
 * - `cut-ends-cleanly`: the runtime's server ends a response whose body failed as if it were
 *   complete: the peer is still blamed, but the client cannot tell the cut.
 * - `bad-chunk-ends-body`: the runtime ends a chunked body at a chunk size it cannot read, as if
 *   the body were over, without an error the adapter could see: only the safety checks hold.
 * - `early-answer-lost-to-reset` (read by the conformance suite's early-answer cases): the HTTP client
 *   reads a peer's early answer late enough that the peer's reset can discard it: the peer's
 *   `Connection: close` under an unread upload ends in a reset, and bytes of the answer the client had
 *   not read yet are lost with it (TCP discards them). A 413 whose body was lost is accepted, saying so.
 */
export type HostileLimit =
  | 'refuses-interim-100'
  | 'interim-as-final'
  | 'protocol-as-lost-connection'
  | 'bare-cr-ends-line'
  | 'lenient-content-length'
  | 'cut-ends-cleanly'
  | 'bad-chunk-ends-body'
  | 'early-answer-lost-to-reset'

/** Where adapters differ. */
export interface HostileCapabilities {
  /** Has `.upgrade` (HTTP Upgrade, WebSocket): the upgrade cases run. @default false */
  readonly upgrade: boolean
  /** Accepts a user `onResponse` hook (`HostileOptions.throwingHook`). @default false */
  readonly onResponse: boolean
  /**
   * `close()` closes the adapter's upstream connections (its own pools), so that after it every
   * connection a peer accepted is closed. False for a handler on the runtime's global fetch pool.
   * @default true
   */
  readonly closesPool: boolean
  /** Multiplies the fast-check runs (a slow-starting runtime gets fewer). @default 1 */
  readonly runs: number
  /** The runtime's limits (see {@link HostileLimit}), each with why it cannot be helped. @default {} */
  readonly limits: Readonly<Partial<Record<HostileLimit, string>>>
}
