import { Readable } from 'node:stream'
import { uploadUnderWay } from 'sticky-core'

/** The client's request body failed (most often: the client closed the connection mid-upload). */
export class ClientBodyError extends Error {
  constructor(cause: unknown) {
    super('The client request body failed', { cause })
    this.name = 'ClientBodyError'
  }
}

/**
 * The client's request body, handed to the transport one attempt at a time. Each attempt reads it
 * through a fresh stream ({@link open}): a transport destroys the stream it was given when the
 * peer fails, and on the client's request itself that would close the client's connection before
 * the proxy could answer.
 *
 * Nothing is read from the client until a transport asks for it, so the body of an attempt that
 * never got to send it (the connection was refused) can still go to another peer:
 * {@link replayable} says whether a byte has left the client's stream. Bodies are never buffered
 * for a replay.
 */
export class ClientBody {
  readonly #source: Readable
  #leg: BodyLeg | undefined
  #taken = false
  #takenBytes = 0
  readonly #declared: number | 'invalid' | undefined
  #ended = false
  #failure: ClientBodyError | undefined
  #onWaiting: ((waiting: boolean) => void) | undefined

  /** @param declared - the request's `Content-Length` (sticky-core's `contentLength`) */
  constructor(source: Readable, declared?: number | 'invalid') {
    this.#source = source
    this.#declared = declared
    // Until a transport asks, the client's bytes stay in its stream (and its socket).
    source.pause()
    source.on('data', (chunk: Buffer) => this.#take(chunk))
    source.once('end', () => {
      this.#ended = true
      this.#leg?.deliverEnd()
      this.#notify()
    })
    source.on('error', (error: unknown) => {
      this.#failure = new ClientBodyError(error)
      this.#leg?.destroy(this.#failure)
    })
  }

  /** Whether the body can be sent again whole: not a byte of it has left the client's stream. */
  get replayable(): boolean {
    return !this.#taken
  }

  /** Whether the body is still on its way (sticky-core's `uploadUnderWay`). */
  get underWay(): boolean {
    return uploadUnderWay(this.#takenBytes, this.#declared, this.#ended)
  }

  /** Whether the current attempt's transport has read the whole body, up to its end. */
  get sent(): boolean {
    return this.#leg?.readableEnded === true
  }

  /**
   * Whether the transport is waiting for the client: it reads on (a transport whose peer stopped
   * taking the body pauses instead), holds nothing unsent, and the client has not sent the next
   * bytes, nor the end. Time spent so is the client's, not the peer's.
   */
  get awaitingClient(): boolean {
    const leg = this.#leg
    if (leg === undefined || this.#ended || this.#failure !== undefined) return false
    return leg.waiting && leg.readableFlowing === true && leg.readableLength === 0
  }

  /**
   * Calls `listener` with {@link awaitingClient} whenever it may have changed (for a transport whose
   * timer must not run while the client is the slow one); one listener, replaced by the next.
   */
  watchWaiting(listener: ((waiting: boolean) => void) | undefined): void {
    this.#onWaiting = listener
  }

  /** A stream of the body for one attempt; the previous attempt's stream lets go of the client. */
  open(): Readable {
    this.#leg?.destroy()
    const leg = new BodyLeg(this.#source, () => this.#notify())
    this.#leg = leg
    if (this.#failure !== undefined) leg.destroy(this.#failure)
    else if (this.#ended) leg.deliverEnd()
    return leg
  }

  #notify(): void {
    this.#onWaiting?.(this.awaitingClient)
  }

  #take(chunk: Buffer): void {
    this.#source.pause()
    const leg = this.#leg
    if (leg === undefined || leg.destroyed) return
    this.#taken = true
    this.#takenBytes += chunk.length
    leg.deliver(chunk)
  }
}

/**
 * One attempt's view of the body. Each chunk is handed over one event-loop turn after it left the
 * client: a peer that refuses an upload answers (a 413) and closes, and the transport must get to
 * read that answer before its next write fails on the closed connection and hides it.
 */
class BodyLeg extends Readable {
  readonly #source: Readable
  readonly #changed: () => void
  /** The transport asked for data that has not been handed over yet. */
  waiting = false

  constructor(source: Readable, changed: () => void) {
    super()
    this.#source = source
    this.#changed = changed
    // Whoever read this stream may have let go of it by the time the client fails: no unhandled error.
    this.on('error', () => undefined)
  }

  override _read(): void {
    this.waiting = true
    this.#changed()
    this.#source.resume()
  }

  deliver(chunk: Buffer): void {
    this.waiting = false
    this.#changed()
    setImmediate(() => {
      if (!this.destroyed) this.push(chunk)
    })
  }

  deliverEnd(): void {
    setImmediate(() => {
      if (!this.destroyed) this.push(null)
    })
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // The transport let go: the client's stream waits for the next attempt, or for nobody.
    this.#source.pause()
    callback(error)
  }
}
