import type { AttemptError } from './attempt'
import type { Decision } from './balancer'
import type { Peer } from './peers'

/**
 * Why an exchange did not end with a complete response of a peer: the attempt policy's error of
 * the last attempt, `unavailable` (the balancer had no usable peer), or `rejected` (the adapter
 * refused the request before asking a peer, as nginx does with a malformed request).
 */
export type ExchangeError = AttemptError | 'unavailable' | 'rejected'

/**
 * What every adapter reports once per request (and per upgrade), when the exchange with the client
 * is over: the same fields in sticky-node, sticky-fastify and sticky-fetch, so that one access-log
 * or metrics function serves all three. Each adapter adds its runtime's `request`.
 *
 * @example
 * ```ts
 * import type { ExchangeEvent } from 'sticky-core'
 *
 * function logLine(event: ExchangeEvent): string {
 *   return `${event.method} ${event.path} ${event.status} ${event.peer?.id ?? '-'} ${event.outcome} ${event.attempts} ${event.durationMs.toFixed(1)}ms`
 * }
 * ```
 */
export interface ExchangeEvent {
  /** The request method, as the client sent it. */
  readonly method: string
  /** The request path, without the query (which may hold secrets a log must not keep). */
  readonly path: string
  /** The balancer's last decision: after retries it names the peer that answered. */
  readonly decision: Decision
  /** `decision.outcome`, repeated for loggers that print flat fields. */
  readonly outcome: Decision['outcome']
  /**
   * The status sent to the client; 101 for a completed upgrade; 499 (nginx's "client closed
   * request") when the client left before any status was sent.
   */
  readonly status: number
  /** The peer that answered, or the last one tried, or null when none was. */
  readonly peer: Peer | null
  /** How many attempts were made (0 when the balancer had no peer). */
  readonly attempts: number
  /** Milliseconds from the request to the end of the exchange. */
  readonly durationMs: number
  /** Set when the exchange did not end with a complete upstream response. */
  readonly error: ExchangeError | undefined
  /** True for upgrades (WebSocket and other HTTP Upgrades). */
  readonly upgrade: boolean
  /**
   * The request's id when `proxy.requestId` is on (passed on from a trusted hop, or generated), as
   * sent to the peer and to the client; `undefined` when request ids are off.
   */
  readonly requestId?: string | undefined
}

/**
 * The request path of `target` (an origin-form request target or a URL's path and query) without
 * its query, for {@link ExchangeEvent.path}.
 */
export function pathOf(target: string): string {
  const query = target.indexOf('?')
  return query === -1 ? target : target.slice(0, query)
}
