/**
 * The attempt policy: what one try at one peer means for the peer's health and for the request.
 * Every adapter translates what its runtime reports into an {@link AttemptEvent}, asks
 * {@link judgeAttempt}, and does what the {@link AttemptVerdict} says. The rules live here once, so
 * that no adapter decides on its own whom to blame or when to retry.
 *
 * The rules, and where they differ from nginx's defaults:
 * - Only the peer's own faults count against its health (`report(peer, false)`): it refused or
 *   dropped the connection, answered something that is not HTTP, went silent, or cut its response.
 *   A client that leaves, sends a broken body, uploads slowly or never reads is never the peer's
 *   fault, and neither is a kept-alive connection the peer closed while idle (nginx counts no
 *   failure for cached connections either).
 * - A request goes to another peer only when it is idempotent (RFC 9110 section 9.2.2, nginx since
 *   1.9.13) and can be sent again whole: it has no body, or none of its body has left the client's
 *   stream. Bodies are streamed, never buffered for a replay (nginx buffers them by default; a
 *   streaming proxy that buffered would hold every upload in memory).
 * - Connection failures and connect timeouts are retried (nginx `proxy_next_upstream error
 *   timeout`), within the retry budget. A peer that accepted the request and then went silent is
 *   answered 504 and not retried, unlike nginx's `timeout`: it may still be acting on the request,
 *   and resending work to the next peer when the cluster is slow multiplies the load.
 * - A stale kept-alive connection (closed by the peer as it was reused, before any answer) is
 *   resent once on a fresh connection to the same peer, for an idempotent request that can be sent
 *   again whole, as browsers and undici do.
 * - A response head is a success (it clears the peer's failures), including an early answer that
 *   arrives while the body is still being sent, such as a 413: it is relayed, not turned into 502.
 * - What the proxy cannot attribute (its own pool closing, an error nobody names) blames nobody: 502.
 *
 * @packageDocumentation
 */

/**
 * What happened to one attempt, in the core's words.
 *
 * - `peer-answered`: a complete response head arrived.
 * - `peer-answered-early`: a response head arrived while the request body was still being sent (a 413
 *   refusing an upload, a redirect), and the peer then stopped reading or closed its side.
 * - `connect-failed`: the connection could not be made (refused, unreachable, no route, name lookup
 *   failed), or was reset before the request was sent.
 * - `connect-timeout`: the connection (TCP or TLS) was not made within the timeout.
 * - `stale-connection`: a kept-alive connection that was reused was closed by the peer before a byte
 *   of the answer arrived.
 * - `peer-reset`: a fresh connection was reset or closed by the peer after the request (or part of
 *   it) was sent and before a response head.
 * - `peer-closed-during-upload`: the connection was reset or closed while the request body was still
 *   going out, and no response head was read, or the body of an early answer (a head that arrived
 *   while the upload was under way) broke off. Most often the peer refused the upload early (a 413)
 *   and closed without reading the rest, and its reset took the answer, or its body, with it (RFC 9112 section 9.6):
 *   what the client chose to upload is then what ended the exchange, so the peer is not blamed, or any
 *   client could take peers out with uploads they refuse. A peer that really fails shows it on the
 *   next request without a body.
 * - `peer-silent`: the peer accepted the request and sent nothing (or stopped reading the body) for
 *   longer than the timeout.
 * - `peer-protocol-error`: the peer answered bytes that are not an acceptable HTTP/1.1 response head.
 * - `peer-cut-response`: the peer closed, reset or went silent in the middle of its response body.
 * - `client-gone`: the client closed its connection or aborted the request.
 * - `client-body-failed`: the client's request body broke (bad framing, cut short).
 * - `client-stalled`: the client sent nothing of its body for longer than the proxy allows (nginx's
 *   `client_body_timeout`).
 * - `proxy-failed`: the proxy's own side failed: the request could not be built, the proxy's
 *   connection pool was closing, or the transport reported an error nobody can attribute.
 */
export type AttemptEvent =
  | 'peer-answered'
  | 'peer-answered-early'
  | 'connect-failed'
  | 'connect-timeout'
  | 'stale-connection'
  | 'peer-reset'
  | 'peer-closed-during-upload'
  | 'peer-silent'
  | 'peer-protocol-error'
  | 'peer-cut-response'
  | 'client-gone'
  | 'client-body-failed'
  | 'client-stalled'
  | 'proxy-failed'

/** Every {@link AttemptEvent}, for exhaustive tests (not exported from the package). */
export const ATTEMPT_EVENTS: readonly AttemptEvent[] = Object.freeze([
  'peer-answered',
  'peer-answered-early',
  'connect-failed',
  'connect-timeout',
  'stale-connection',
  'peer-reset',
  'peer-closed-during-upload',
  'peer-silent',
  'peer-protocol-error',
  'peer-cut-response',
  'client-gone',
  'client-body-failed',
  'client-stalled',
  'proxy-failed',
])

/** The facts about the request that the policy needs, as the adapter knows them after the attempt. */
export interface AttemptFacts {
  /** The request method as received (compared case-sensitively, as RFC 9110 section 9.1 says). */
  readonly method: string
  /**
   * Whether the request can be sent again whole: it has no body, or not a byte of its body has
   * left the client's stream yet.
   */
  readonly bodyReplayable: boolean
  /** Distinct peers tried so far, this one included (a resend to the same peer does not count). */
  readonly tried: number
  /** The `proxy.retries` option: further peers after the first; `undefined` for the default. */
  readonly retries: number | undefined
  /** How many peers are configured now (the default budget is every other peer once). */
  readonly peers: number
  /** Whether this attempt already was the one resend on a fresh connection to the same peer. */
  readonly resent: boolean
}

/**
 * Why the proxy, not the peer, produced the answer (or cut the response short); `undefined` when
 * the peer's response is relayed.
 */
export type AttemptError = 'connect' | 'timeout' | 'protocol' | 'upstream-aborted' | 'client-aborted' | 'client-body' | 'client-timeout' | 'proxy'

/** What to do after an attempt. */
export interface AttemptVerdict {
  /** Count a failure against the peer: `balancer.report(peer, false)`. */
  readonly blame: boolean
  /** Count a success for the peer, clearing its failures: `balancer.report(peer, true)`. */
  readonly credit: boolean
  /**
   * - `relay`: pass the peer's response to the client.
   * - `retry-other`: ask the balancer again, excluding the peers tried, and send the request there;
   *   if it has no peer left, answer `status`.
   * - `resend-same`: send the request once more to the same peer, on another connection than the
   *   stale one (a pooled transport may hand out another idle one: a second stale connection is
   *   then answered, not resent again).
   * - `answer`: answer `status` (or, once the response head went out, cut the client's response).
   */
  readonly next: 'relay' | 'retry-other' | 'resend-same' | 'answer'
  /**
   * The proxy's own status when it answers: 502 (the peer failed, or the proxy could not complete the
   * attempt), 504 (the peer timed out), 400 (the client's body was broken), 408 (the client's body
   * stalled), 499 (nginx's "client closed request": the client is gone and nobody reads it).
   * `undefined` with `relay`.
   */
  readonly status: 400 | 408 | 499 | 502 | 504 | undefined
  /** What went wrong, for logs and metrics; `undefined` with `relay`. */
  readonly error: AttemptError | undefined
}

function verdict(blame: boolean, next: AttemptVerdict['next'], status: AttemptVerdict['status'], error: AttemptError | undefined): AttemptVerdict {
  return Object.freeze({ blame, credit: false, next, status, error })
}

// Verdicts are shared constants: judging allocates nothing.
const RELAY: AttemptVerdict = Object.freeze({ blame: false, credit: true, next: 'relay', status: undefined, error: undefined })
const CONNECT_RETRY = verdict(true, 'retry-other', 502, 'connect')
const CONNECT_ANSWER = verdict(true, 'answer', 502, 'connect')
const CONNECT_TIMEOUT_RETRY = verdict(true, 'retry-other', 504, 'timeout')
const CONNECT_TIMEOUT_ANSWER = verdict(true, 'answer', 504, 'timeout')
const STALE_RESEND = verdict(false, 'resend-same', 502, 'connect')
const STALE_ANSWER = verdict(false, 'answer', 502, 'connect')
const SILENT = verdict(true, 'answer', 504, 'timeout')
const PROTOCOL = verdict(true, 'answer', 502, 'protocol')
const CUT = verdict(true, 'answer', 502, 'upstream-aborted')
// Never retried: part of the body has gone, and a body is never buffered for a replay.
const UPLOAD_CLOSED = verdict(false, 'answer', 502, 'upstream-aborted')
const CLIENT_GONE = verdict(false, 'answer', 499, 'client-aborted')
const CLIENT_BODY = verdict(false, 'answer', 400, 'client-body')
const CLIENT_STALLED = verdict(false, 'answer', 408, 'client-timeout')
const PROXY_FAILED = verdict(false, 'answer', 502, 'proxy')

/** Methods whose repetition has the effect of one request (RFC 9110 section 9.2.2). */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

/**
 * Whether a request with `method` may be sent a second time (RFC 9110 section 9.2.2: GET, HEAD,
 * OPTIONS, TRACE, PUT, DELETE). Method names are case-sensitive: `get` is not `GET`. nginx retries
 * only these since 1.9.13; POST, PATCH, LOCK and unknown methods are never retried.
 */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method)
}

/**
 * How many peers one request may be sent to: the first plus `retries` others; by default every
 * configured peer once (nginx `proxy_next_upstream_tries 0`).
 *
 * @param retries - the `proxy.retries` option, `undefined` for the default
 * @param peers - how many peers are configured now
 */
export function attemptBudget(retries: number | undefined, peers: number): number {
  return 1 + (retries ?? Math.max(0, peers - 1))
}

/**
 * Judges one attempt: whether the peer is blamed or credited, and whether to relay, retry on another
 * peer, resend to the same peer, or answer. Pure and total: every event and fact gives a verdict,
 * and no verdict is allocated.
 *
 * @example
 * ```ts
 * import { judgeAttempt } from 'sticky-core'
 *
 * const facts = { method: 'GET', bodyReplayable: true, tried: 1, retries: undefined, peers: 3, resent: false }
 * const v = judgeAttempt('connect-failed', facts)
 * console.log(v.blame, v.next, v.status) // true retry-other 502
 * console.log(judgeAttempt('client-gone', facts).blame) // false
 * ```
 */
export function judgeAttempt(event: AttemptEvent, facts: AttemptFacts): AttemptVerdict {
  switch (event) {
    case 'peer-answered':
    case 'peer-answered-early':
      return RELAY
    case 'connect-failed':
    case 'peer-reset':
      return mayRetry(facts) ? CONNECT_RETRY : CONNECT_ANSWER
    case 'connect-timeout':
      return mayRetry(facts) ? CONNECT_TIMEOUT_RETRY : CONNECT_TIMEOUT_ANSWER
    case 'stale-connection':
      return !facts.resent && facts.bodyReplayable && isIdempotent(facts.method) ? STALE_RESEND : STALE_ANSWER
    case 'peer-closed-during-upload':
      return UPLOAD_CLOSED
    case 'peer-silent':
      return SILENT
    case 'peer-protocol-error':
      return PROTOCOL
    case 'peer-cut-response':
      return CUT
    case 'client-gone':
      return CLIENT_GONE
    case 'client-body-failed':
      return CLIENT_BODY
    case 'client-stalled':
      return CLIENT_STALLED
    case 'proxy-failed':
      return PROXY_FAILED
  }
}

function mayRetry(facts: AttemptFacts): boolean {
  return isIdempotent(facts.method) && facts.bodyReplayable && facts.tried < attemptBudget(facts.retries, facts.peers)
}
