import type { BalancerOptions } from 'sticky-core'
import type { HostileLimit } from './hostile/types'

/** What the suite asks an adapter factory to build. */
export interface AdapterOptions {
  /** Balancer options; peers are `127.0.0.1:<port>` addresses of real node:http backends. */
  readonly balancer: BalancerOptions
  /** Retries on another peer after a connection failure (idempotent requests). */
  readonly retries?: number
  /** Upstream timeout in milliseconds. */
  readonly timeoutMs?: number
  /** `proxy.trustProxy`: the suite trusts `127.0.0.1` (every client of the suite) or a network without it. */
  readonly trustProxy?: string
  /** `proxy.requestId`. */
  readonly requestId?: boolean | string
  /** `proxy.xForwarded`. */
  readonly xForwarded?: boolean | { readonly forwarded?: boolean }
}

/** A running adapter, listening on loopback. */
export interface RunningProxy {
  /** Base URL, e.g. `http://127.0.0.1:41234`, with no trailing slash. */
  readonly url: string
  /** Stops listening and releases every resource the adapter holds. */
  close(): Promise<void>
}

/** Builds and starts the adapter under test. Called more than once per suite (e.g. a second instance). */
export type AdapterFactory = (options: AdapterOptions) => Promise<RunningProxy>

/** Where a runtime differs, the suite leaves out what the adapter cannot do. */
export interface Capabilities {
  /** Retries idempotent requests on another peer after a connection failure. @default true */
  readonly retries: boolean
  /** Supports `Expect: 100-continue` from the client. @default true */
  readonly expectContinue: boolean
  /** Streams chunked request bodies of unknown length. @default true */
  readonly chunkedRequests: boolean
  /** Answers 504 when a peer accepts the request but never answers within `timeoutMs`. @default true */
  readonly timeout: boolean
  /**
   * Passes the balancer's `now` function through to the balancer it builds (an in-process adapter does;
   * a runtime reached through serialized options cannot), for cases on an injected clock. @default true
   */
  readonly injectedClock: boolean
  /**
   * The runtime's limits, each with why it cannot be helped: the same named limits as the hostile kits'
   * (see {@link HostileLimit}). The suite reads `early-answer-lost-to-reset` (workerd): the early-answer
   * cases then accept a 413 whose body was lost, saying so, and do not hold the peer's health against
   * the adapter in that run. @default {}
   */
  readonly limits: Readonly<Partial<Record<HostileLimit, string>>>
}
