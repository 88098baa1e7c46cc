import type { ClientRequest, IncomingMessage } from 'node:http'

/** A request body on its way to one attempt's upstream request. */
export interface BodyRelay {
  /** Stops relaying (the attempt is over): the client's stream is left paused for the next one. */
  stop(): void
}

/**
 * Streams the client's request body into `up` with backpressure, like `pipe`, with one difference:
 * each chunk is written on the next turn of the event loop (`setImmediate`), after the poll phase.
 *
 * A peer that refuses an upload early (a 413 while the body is still arriving, the way node:http
 * does it) writes its answer and closes the connection, and its kernel resets the connection when
 * more body arrives. A write that meets that reset destroys the socket at once, with the answer still
 * unread in the kernel's buffer, and the client would get a 502 instead of the 413. Deferring the
 * write past the poll phase lets node:http read whatever the peer already sent first: the answer
 * is relayed, and the peer is credited instead of blamed.
 */
export function relayBody(req: IncomingMessage, up: ClientRequest): BodyRelay {
  let stopped = false
  const write = (chunk: Buffer): void => {
    if (stopped || up.destroyed) return
    if (up.write(chunk)) req.resume()
    else up.once('drain', resume)
  }
  const resume = (): void => {
    if (!stopped) req.resume()
  }
  const onData = (chunk: Buffer): void => {
    req.pause()
    setImmediate(write, chunk)
  }
  const onEnd = (): void => {
    setImmediate(() => {
      if (!stopped && !up.destroyed) up.end()
    })
  }
  req.on('data', onData)
  req.once('end', onEnd)
  req.resume()
  return {
    stop(): void {
      if (stopped) return
      stopped = true
      req.off('data', onData)
      req.off('end', onEnd)
      up.off('drain', resume)
      req.pause()
    },
  }
}
