import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * Whether the client is gone: it closed its connection or aborted the request, or its response
 * was destroyed. Whatever else failed, nobody reads the answer (nginx logs 499).
 */
export function clientGone(request: IncomingMessage, response: ServerResponse): boolean {
  // Not `request.destroyed`: Node destroys a request whose body was read to the end.
  return request.aborted || (response.destroyed && !response.writableFinished) || request.socket?.destroyed === true
}
