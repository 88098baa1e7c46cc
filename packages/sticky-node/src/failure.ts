/**
 * Whether the connection was reset or closed under the request (`ECONNRESET`, node:http's "socket
 * hang up", or `EPIPE`), as a peer does when its keep-alive timeout closes an idle connection just
 * as the proxy reuses it.
 */
export function isConnectionReset(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'ECONNRESET' || code === 'EPIPE'
}

/** Raised on the upstream request when `proxy.timeout` elapses without socket activity. */
export class UpstreamTimeoutError extends Error {
  readonly code = 'ETIMEDOUT'
  constructor(timeout: number) {
    super(`no activity from the peer for ${timeout} ms`)
    this.name = 'UpstreamTimeoutError'
  }
}
