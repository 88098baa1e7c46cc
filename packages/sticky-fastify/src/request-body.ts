import { PassThrough } from 'node:stream'
import type { Readable } from 'node:stream'

/** The client's request body failed (most often: the client closed the connection mid-upload). */
export class ClientBodyError extends Error {
  constructor(cause: unknown) {
    super('The client request body failed', { cause })
    this.name = 'ClientBodyError'
  }
}

/**
 * The stream handed to the transport in place of the client's request body. It marks an error of the
 * client's stream as a {@link ClientBodyError}: the transport fails with it, and Node gives an aborted
 * upload the code `ECONNRESET`, the same as a peer's reset. It also keeps the transport's hands off the
 * client's request: a transport destroys its body stream when the peer fails, which on the request
 * itself would close the client's connection before the 502 could be written.
 */
export function relayBody(body: Readable): Readable {
  const relay = new PassThrough()
  // Whoever reads the relay may have let go of it by the time the client fails: no unhandled error.
  relay.on('error', () => undefined)
  body.on('error', (error: unknown) => relay.destroy(new ClientBodyError(error)))
  body.pipe(relay)
  return relay
}
