import type { AttemptError } from 'sticky-core'

/** Why the proxy answered itself instead of a peer. */
export type GatewayErrorCode =
  | 'STICKY_NO_PEER'
  | 'STICKY_UPSTREAM_FAILED'
  | 'STICKY_UPSTREAM_TIMEOUT'
  | 'STICKY_UPSTREAM_INVALID'
  | 'STICKY_BAD_PATH'
  | 'STICKY_BAD_BODY'
  | 'STICKY_BODY_TIMEOUT'
  | 'STICKY_PROXY_FAILED'
  | 'STICKY_BAD_REQUEST'
  | 'STICKY_UNSUPPORTED_CODING'

const MESSAGES: Readonly<Record<GatewayErrorCode, string>> = {
  STICKY_NO_PEER: 'No usable upstream peer',
  STICKY_UPSTREAM_FAILED: 'The upstream peer could not be reached',
  STICKY_UPSTREAM_TIMEOUT: 'The upstream peer did not answer in time',
  STICKY_UPSTREAM_INVALID: 'The upstream peer sent an invalid or incomplete response',
  STICKY_BAD_PATH: 'The request path cannot be forwarded',
  STICKY_BAD_BODY: 'The request body could not be read',
  STICKY_BODY_TIMEOUT: 'The request body did not arrive in time',
  STICKY_PROXY_FAILED: 'The proxy could not complete the request',
  STICKY_BAD_REQUEST: 'The request is malformed: more than one Host or Transfer-Encoding header, an invalid Content-Length, or an upgrade with a body',
  STICKY_UNSUPPORTED_CODING: 'The request uses a transfer coding other than chunked',
}

/**
 * An error the plugin hands to `reply.send`, so that Fastify's error handler (the application's,
 * or the default one answering `{ statusCode, code, error, message }`) renders it like any other.
 * The message never names a peer: addresses of the backends stay private.
 */
export class StickyGatewayError extends Error {
  /** The HTTP status Fastify answers with. */
  readonly statusCode: 400 | 408 | 501 | 502 | 503 | 504
  /** A stable machine-readable reason. */
  readonly code: GatewayErrorCode

  constructor(statusCode: 400 | 408 | 501 | 502 | 503 | 504, code: GatewayErrorCode, options?: { cause?: unknown }) {
    super(MESSAGES[code], options)
    this.name = 'StickyGatewayError'
    this.statusCode = statusCode
    this.code = code
  }
}

/** The code for the core's `AttemptError`: what went wrong, as the plugin's errors name it. */
export function gatewayCode(error: AttemptError | undefined): GatewayErrorCode {
  switch (error) {
    case 'timeout':
      return 'STICKY_UPSTREAM_TIMEOUT'
    case 'protocol':
    case 'upstream-aborted':
      return 'STICKY_UPSTREAM_INVALID'
    case 'client-body':
    case 'client-aborted':
      return 'STICKY_BAD_BODY'
    case 'client-timeout':
      return 'STICKY_BODY_TIMEOUT'
    case 'proxy':
      return 'STICKY_PROXY_FAILED'
    default:
      return 'STICKY_UPSTREAM_FAILED'
  }
}
