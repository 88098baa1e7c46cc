/**
 * How a failed upstream exchange maps onto the proxy's answer, following nginx: a peer that could
 * not be reached or dropped the connection is a 502 and may be retried on another peer
 * (`proxy_next_upstream error`); a peer that accepted the request but did not answer in time is
 * a 504 and is not retried, since it may have acted on the request.
 */
export interface UpstreamFailure {
  /** The status the client gets when no retry follows. */
  readonly status: 502 | 504
  /** Whether another peer may take the request (for idempotent requests without a body). */
  readonly retryable: boolean
}

/** Error codes of a peer that refused, dropped or never completed the connection. */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
])

/** Error codes of a peer that took too long to answer once connected. */
const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'FST_REPLY_FROM_TIMEOUT',
  'FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT',
  'FST_REPLY_FROM_GATEWAY_TIMEOUT',
])

const UNREACHABLE: UpstreamFailure = { status: 502, retryable: true }
const CONNECT_TIMEOUT: UpstreamFailure = { status: 504, retryable: true }
const TIMED_OUT: UpstreamFailure = { status: 504, retryable: false }
const BROKEN: UpstreamFailure = { status: 502, retryable: false }

/**
 * Classifies the error `@fastify/reply-from` reports. It wraps the transport's error in its own
 * (`cause`), so the codes of the whole cause chain are read, innermost first.
 */
export function classifyFailure(error: unknown): UpstreamFailure {
  const codes = causeCodes(error)
  for (const code of codes) {
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return CONNECT_TIMEOUT
    if (CONNECTION_CODES.has(code)) return UNREACHABLE
    if (TIMEOUT_CODES.has(code)) return TIMED_OUT
  }
  return BROKEN
}

/**
 * Whether a failure counts against the peer in passive health tracking: a connection that failed
 * or an answer that did not come in time (nginx's default `proxy_next_upstream error timeout`).
 * An unrecognised error may not be the peer's doing, so it is not counted.
 */
export function blamesPeer(failure: UpstreamFailure): boolean {
  return failure.retryable || failure.status === 504
}

/** The `code` of each error in the `cause` chain, innermost first; bounded against cycles. */
function causeCodes(error: unknown): string[] {
  const codes: string[] = []
  let current: unknown = error
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const code: unknown = (current as { code?: unknown }).code
    if (typeof code === 'string') codes.unshift(code)
    current = (current as { cause?: unknown }).cause
  }
  return codes
}
