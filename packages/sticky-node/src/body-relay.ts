import type { ClientRequest, IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'

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
export function relayBody(req: IncomingMessage, up: ClientRequest, taken: { bytes: number }): BodyRelay {
  if (up.socket !== null) quietRefusedWrites(up.socket)
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
    taken.bytes += chunk.length
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

/** Set on a socket whose writes {@link quietRefusedWrites} watches; `true` once the peer refused one. */
const REFUSED = Symbol('sticky.refusedWrites')

type WatchedSocket = Socket & { [REFUSED]?: boolean }

/**
 * Keeps `socket` open when a write meets the peer's reset or closed side (`EPIPE`, `ECONNRESET`): the
 * write is reported done and the rest are dropped, and the socket's read side decides what happened.
 *
 * Why: a peer that refuses an upload early writes a complete answer (a 413) and closes with body
 * bytes unread, so its kernel resets the connection (RFC 9112 section 9.6). The answer sits in this
 * side's receive buffer before the reset, and a read returns it first; but a write that meets the
 * reset makes node:http destroy the socket at once, and the unread answer goes with it: the client got
 * a 502 for the peer's 413, and the peer was blamed for it. With the write quiet, node:http reads the
 * answer (relayed), and then the reset, or only the reset when nothing was sent (a peer reset, judged
 * as before). The deferred writes of {@link relayBody} alone left this to a race.
 */
function quietRefusedWrites(socket: WatchedSocket): void {
  if (REFUSED in socket) return
  socket[REFUSED] = false
  const quiet =
    (callback: (error?: Error | null) => void) =>
    (error?: Error | null): void => {
      const code = (error as NodeJS.ErrnoException | null | undefined)?.code
      if (code === 'EPIPE' || code === 'ECONNRESET') {
        socket[REFUSED] = true
        callback()
      } else callback(error)
    }
  const write = socket._write
  socket._write = (chunk, encoding, callback) => {
    if (socket[REFUSED] === true) callback()
    else write.call(socket, chunk, encoding, quiet(callback))
  }
  const writev = socket._writev
  if (writev !== undefined) {
    socket._writev = (chunks, callback) => {
      if (socket[REFUSED] === true) callback()
      else writev.call(socket, chunks, quiet(callback))
    }
  }
}
