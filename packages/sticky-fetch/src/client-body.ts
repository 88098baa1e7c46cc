import { uploadUnderWay } from 'sticky-core'

/**
 * The client's request body, read through ONE reader and handed to each attempt in turn.
 *
 * sticky-core's attempt policy sends a request to another peer only while no byte of its body has
 * left the client's stream; bodies are streamed, never buffered for a replay. So every attempt gets a
 * fresh stream that pulls from the shared reader only when the attempt's fetch asks for more, and the
 * body stays replayable exactly until a chunk has been handed to an attempt.
 */

/** How an attempt's body tells the attempt's deadline whose turn it is. */
export interface BodyPace {
  /** The attempt asked for the next chunk and waits for the client: that wait is not the peer's silence. */
  readonly awaitingClient: () => void
  /** A chunk was handed over, or the body ended: it is the peer's turn again. */
  readonly handedOver: () => void
}

/** One attempt's view of the client's body. */
export interface AttemptBody {
  /** The stream to send; it pulls from the client only when the attempt's fetch reads it. */
  readonly stream: ReadableStream<Uint8Array>
  /** Whether the end of the body has been handed to this attempt. */
  readonly ended: () => boolean
  /**
   * Ends this attempt's claim on the client's stream. A read it started and that is still pending goes
   * to the next attempt, so a chunk that arrives after the attempt failed is not lost.
   */
  readonly retire: () => void
  /**
   * Hands the attempt no further chunk: the peer answered and is closing the connection, so it reads
   * no more of the body (RFC 9112 section 9.6: a client then stops sending). Writing on would only
   * meet the peer's reset, which can cut the answer short.
   */
  readonly hold: () => void
}

/** Reading the client's request body failed: the upload was cut off, or its framing was broken. */
export class ClientBodyError extends Error {
  constructor(cause: unknown) {
    super('The client request body failed', { cause })
    this.name = 'ClientBodyError'
  }
}

type Read = ReadableStreamReadResult<Uint8Array>

/** A read of the client's reader, and the attempt it is for (a later attempt may adopt it). */
interface PendingRead {
  readonly read: Promise<Read>
  owner: object
}

/** The client's request body, shared by the attempts of one request. */
export class ClientBody {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  #pending: PendingRead | undefined
  /** A read that completed for a retired attempt, kept for the next one (one chunk, never a buffer). */
  #kept: Read | undefined
  #handed = false
  #failed = false
  /** Bytes handed to attempts, and what the request's `Content-Length` declared. */
  #handedBytes = 0
  readonly #declared: number | 'invalid' | undefined

  /** @param declared - the request's `Content-Length` (sticky-core's `contentLength`) */
  constructor(stream: ReadableStream<Uint8Array>, declared?: number | 'invalid') {
    this.#reader = stream.getReader()
    this.#declared = declared
  }

  /**
   * Whether the body is still on its way to the peer (sticky-core's `uploadUnderWay`): `ended` says
   * whether the attempt was handed its end; a runtime reads the end only after it sent the last chunk,
   * so a body whose declared length was handed whole is not under way either.
   */
  underWay(ended: boolean): boolean {
    return uploadUnderWay(this.#handedBytes, this.#declared, ended)
  }

  /** Whether the request can still be sent again whole: no chunk has been handed to an attempt yet. */
  get replayable(): boolean {
    return !this.#handed
  }

  /** Whether reading the client's stream failed. */
  get failed(): boolean {
    return this.#failed
  }

  /**
   * A fresh stream for one attempt. Its high-water mark is 0, so nothing is read ahead of the
   * attempt's fetch: every chunk the client gives up is one the attempt asked for.
   */
  forAttempt(pace: BodyPace): AttemptBody {
    const owner = {}
    let retired = false
    let held = false
    let ended = false
    // Settles once, when the attempt is retired or held, so that a pull after that waits without
    // reading the client (and without the stream calling `pull` again in a loop).
    let release!: () => void
    const idle = new Promise<void>((resolve) => {
      release = resolve
    })
    const stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (retired) {
            controller.error(new Error('sticky-fetch: this attempt is over'))
            return
          }
          if (held) return idle
          pace.awaitingClient()
          let read: Read | undefined
          try {
            read = await this.#next(owner)
          } catch (error) {
            // The client's failure: the deadline stays suspended, the peer is not waited for any more.
            if (!retired) controller.error(new ClientBodyError(error))
            return
          }
          if (read === undefined) return // a later attempt adopted the read
          // Before the chunk is written: an answer the peer already sent is read first (see nextTurn).
          await nextTurn()
          if (retired) {
            this.#kept = read
            return
          }
          if (held) return idle
          if (read.done) {
            ended = true
            controller.close()
          } else {
            // An empty chunk gives up no byte: the body stays replayable.
            if (read.value.byteLength > 0) this.#handed = true
            this.#handedBytes += read.value.byteLength
            controller.enqueue(read.value)
          }
          pace.handedOver()
        },
        // The attempt's fetch gave up its body. The client's stream stays open for a next attempt; the
        // runtime that owns it decides what happens to the rest of an upload nobody reads.
        cancel: () => undefined,
      },
      { highWaterMark: 0 },
    )
    return {
      stream,
      ended: () => ended,
      retire: () => {
        retired = true
        release()
      },
      hold: () => {
        held = true
      },
    }
  }

  /** The next read for `owner`: a held one, a pending one it adopts, or a new one; `undefined` once adopted by another. */
  async #next(owner: object): Promise<Read | undefined> {
    const held = this.#kept
    if (held !== undefined) {
      this.#kept = undefined
      return held
    }
    let pending = this.#pending
    if (pending === undefined) {
      pending = { read: this.#reader.read(), owner }
      this.#pending = pending
    } else {
      pending.owner = owner
    }
    try {
      const read = await pending.read
      return pending.owner === owner ? read : undefined
    } catch (error) {
      this.#failed = true
      if (pending.owner !== owner) return undefined
      throw error
    } finally {
      if (this.#pending === pending) this.#pending = undefined
    }
  }
}

// Node's; absent from the DOM typings and from workerd.
declare const setImmediate: ((callback: () => void) => unknown) | undefined

/**
 * Waits until the event loop has polled for I/O at least once. A peer that refuses an upload answers
 * and closes the connection with the body unread, so its kernel resets the connection; a fetch that
 * writes the next chunk after the reset arrived fails the whole exchange, although the answer was
 * already there to be read (Node's fetch drops it 20 times out of 20 in the conformance case without
 * this wait, workerd's most of the time). Reading before each write lets the runtime see the answer
 * first. Node: two `setImmediate` turns (the first may run before the next poll); elsewhere a 0 ms
 * timer, which is one turn of the runtime's loop.
 */
function nextTurn(): Promise<void> {
  if (typeof setImmediate === 'function') {
    const immediate = setImmediate
    return new Promise((resolve) => immediate(() => immediate(resolve)))
  }
  return new Promise((resolve) => setTimeout(resolve, 0))
}
