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
 * its query, for {@link ExchangeEvent.path}. An absolute-form target (`GET http://host/a HTTP/1.1`,
 * which servers must accept) loses its scheme and authority too: they are not the path, and the
 * authority may carry credentials (`user:password@`) that no log line may show.
 */
export function pathOf(target: string): string {
  let path = target
  const scheme = absoluteFormScheme(target)
  if (scheme > 0) {
    // The authority ends at the first "/", "?" or "#" after "://"; nothing after it means the path "/".
    let end = scheme + 3
    while (end < target.length && target[end] !== '/' && target[end] !== '?' && target[end] !== '#') end++
    path = target[end] === '/' ? target.slice(end) : `/${target.slice(end)}`
  }
  const query = path.indexOf('?')
  return query === -1 ? path : path.slice(0, query)
}

/** The index of "://" when `target` starts with a URI scheme followed by it (RFC 3986 section 3.1), else -1. */
function absoluteFormScheme(target: string): number {
  const colon = target.indexOf('://')
  if (colon < 1) return -1
  for (let i = 0; i < colon; i++) {
    const c = target.charCodeAt(i)
    const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
    if (i === 0 ? !alpha : !(alpha || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) return -1
  }
  return colon
}
