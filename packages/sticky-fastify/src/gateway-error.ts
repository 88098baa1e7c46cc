/** Why the proxy answered itself instead of a peer. */
export type GatewayErrorCode = 'STICKY_NO_PEER' | 'STICKY_UPSTREAM_FAILED' | 'STICKY_UPSTREAM_TIMEOUT' | 'STICKY_BAD_PATH'

const MESSAGES: Readonly<Record<GatewayErrorCode, string>> = {
  STICKY_NO_PEER: 'No usable upstream peer',
  STICKY_UPSTREAM_FAILED: 'The upstream peer could not be reached',
  STICKY_UPSTREAM_TIMEOUT: 'The upstream peer did not answer in time',
  STICKY_BAD_PATH: 'The request path cannot be forwarded',
}

/**
 * An error the plugin hands to `reply.send`, so that Fastify's error handler (the application's,
 * or the default one answering `{ statusCode, code, error, message }`) renders it like any other.
 * The message never names a peer: addresses of the backends stay private.
 */
export class StickyGatewayError extends Error {
  /** The HTTP status Fastify answers with. */
  readonly statusCode: 400 | 502 | 504
  /** A stable machine-readable reason. */
  readonly code: GatewayErrorCode

  constructor(statusCode: 400 | 502 | 504, code: GatewayErrorCode, options?: { cause?: unknown }) {
    super(MESSAGES[code], options)
    this.name = 'StickyGatewayError'
    this.statusCode = statusCode
    this.code = code
  }
}
