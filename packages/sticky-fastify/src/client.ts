import type { IncomingMessage, ServerResponse } from 'node:http'
import { ClientBodyError } from './request-body'

/**
 * Whether the client, not the peer, ended a failed upstream attempt: the client closed its
 * connection, or `error` (or one in its `cause` chain) is its request body's failure. nginx logs
 * such a request as 499 and counts no failure against the peer.
 */
export function clientCaused(error: unknown, request: IncomingMessage, response: ServerResponse): boolean {
  // Not `request.destroyed`: Node destroys a request whose body was read to the end.
  if (request.aborted || response.destroyed || request.socket?.destroyed === true) return true
  let current: unknown = error
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    if (current instanceof ClientBodyError) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}
