import type { FastifyReply } from 'fastify'
import { StickyGatewayError } from './gateway-error'
import type { GatewayErrorCode } from './gateway-error'

/** The statuses the proxy answers itself: the core's verdicts' (and the balancer's 502, or 503 under `strictStatus: 503`). */
export type OwnStatus = 400 | 408 | 499 | 501 | 502 | 503 | 504

/**
 * Answers the proxy's own `status` through Fastify's error handling ({@link ownError}); 499 (the
 * client is gone, nobody reads) with an empty body. Once the response head went out, only cutting
 * the response is left.
 *
 * @param copied - names of upstream fields already copied onto the reply, which the answer drops
 */
export function answerOwn(reply: FastifyReply, status: OwnStatus, code: GatewayErrorCode, copied: readonly string[], cause?: unknown): void {
  if (reply.raw.headersSent) {
    reply.raw.destroy()
    return
  }
  const error = ownError(reply, status, code, copied, cause)
  if (error === undefined) reply.code(499).send()
  else reply.send(error)
}

/**
 * Readies the reply for an answer of the proxy's own and returns the error for Fastify to render;
 * `undefined` for 499. A request whose body was not read to the end gets `Connection: close`:
 * node:http would otherwise keep the connection and wait for the rest of a body nobody wants.
 */
export function ownError(
  reply: FastifyReply,
  status: OwnStatus,
  code: GatewayErrorCode,
  copied: readonly string[],
  cause?: unknown,
): StickyGatewayError | undefined {
  for (const name of copied) {
    reply.removeHeader(name)
    reply.raw.removeHeader(name)
  }
  const request = reply.request.raw
  // HTTP/2 has no Connection field: a stream ends on its own.
  if (!request.complete && request.httpVersionMajor === 1) reply.header('connection', 'close')
  if (status === 499) return undefined
  return new StickyGatewayError(status, code, { cause })
}
