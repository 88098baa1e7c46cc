import { Readable } from 'node:stream'

/**
 * The stream the client's response reads the peer's body from: the peer's chunks as they come, its
 * end as the end, and back-pressure the other way (the peer's stream is paused while this one is full
 * and resumed when it is read), as `upstream.pipe(new PassThrough())` would do, without the
 * writable half and the pipe's bookkeeping a `PassThrough` costs on every response. What happens when
 * the peer's body breaks off, or the client leaves, is the caller's (it destroys one or the other).
 */
export class BodyRelay extends Readable {
  readonly #upstream: Readable
  /** The peer's stream is paused because this one was full. */
  #held = false

  constructor(upstream: Readable) {
    super()
    this.#upstream = upstream
    upstream.on('data', (chunk: Buffer) => this.#deliver(chunk))
    upstream.once('end', () => {
      if (!this.destroyed) this.push(null)
    })
    // A body that ended before the relay was built: its end was already emitted.
    if (upstream.readableEnded) this.push(null)
  }

  #deliver(chunk: Buffer): void {
    if (this.destroyed) return
    if (!this.push(chunk)) {
      this.#held = true
      this.#upstream.pause()
    }
  }

  override _read(): void {
    if (!this.#held) return
    this.#held = false
    this.#upstream.resume()
  }
}
