import type { ClientRequest, IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'

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

/** A request body as a stream of its own for one pooled attempt. */
export interface PooledBody {
  /** What the attempt's client reads the body from. */
  readonly stream: Readable
  /** Stops relaying (the attempt is over): the client's stream is left paused for the next one. */
  stop(): void
}

/**
 * The client's request body as a `Readable` for one attempt of a pooled client, with backpressure,
 * and each chunk handed over on the next turn of the event loop for the reason {@link relayBody}
 * gives (an early answer is read before a write can meet the peer's reset). The client's stream is
 * read only once the attempt's client asks for the body, and is left paused by `stop`, so that
 * another attempt can take it as long as none of it was read.
 *
 * @param read - called on each chunk taken from the client's stream (then it cannot be sent again)
 */
export function pooledBody(req: IncomingMessage, read: () => void): PooledBody {
  let stopped = false
  let wired = false
  const push = (chunk: Buffer): void => {
    if (!stopped && stream.push(chunk)) req.resume()
  }
  const onData = (chunk: Buffer): void => {
    read()
    req.pause()
    setImmediate(push, chunk)
  }
  const finish = (): void => {
    if (!stopped) stream.push(null)
  }
  const onEnd = (): void => {
    setImmediate(finish)
  }
  const stop = (): void => {
    if (stopped) return
    stopped = true
    if (wired) {
      req.off('data', onData)
      req.off('end', onEnd)
      req.pause()
    }
  }
  const stream = new Readable({
    read(): void {
      if (stopped) return
      if (!wired) {
        wired = true
        if (req.readableEnded) return void setImmediate(finish)
        req.on('data', onData)
        req.once('end', onEnd)
      }
      req.resume()
    },
    destroy(error, callback): void {
      stop()
      callback(error)
    },
  })
  return { stream, stop }
}
