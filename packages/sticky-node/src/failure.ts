/**
 * Methods a proxy may send twice (RFC 9110 section 9.2.2), the set nginx retries on
 * `proxy_next_upstream`: POST, PATCH and LOCK are never retried.
 */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

/** Whether a failed `method` request may be sent again to another peer. */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method)
}

/**
 * Whether the peer answered bytes that are not HTTP (the `node:http` parser's `HPE_*` codes), as
 * opposed to failing to connect, resetting or closing.
 */
export function isProtocolError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('HPE_')
}

/** Raised on the upstream request when `proxy.timeout` elapses without socket activity. */
export class UpstreamTimeoutError extends Error {
  readonly code = 'ETIMEDOUT'
  constructor(timeout: number) {
    super(`no activity from the peer for ${timeout} ms`)
    this.name = 'UpstreamTimeoutError'
  }
}
