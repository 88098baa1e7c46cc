/**
 * How long a peer may stay silent during one attempt (`proxy.timeout`).
 *
 * It measures the peer's silence only: it runs while the attempt waits on the peer (to connect, to
 * read the next chunk of the body, to send its response head) and is suspended while the attempt
 * waits on the client for the next chunk of its body. A slow upload is the client's, not the peer's;
 * a peer that stops reading the body makes fetch stop asking for chunks, so the deadline runs and
 * expires. Each handed-over chunk gives the peer a full window again.
 */
export class PeerDeadline {
  readonly #ms: number
  readonly #expire: () => void
  #timer: ReturnType<typeof setTimeout> | undefined
  #expired = false
  #stopped = false

  /**
   * @param ms - the window in milliseconds; 0 never expires
   * @param expire - called once when the peer stayed silent for a whole window
   */
  constructor(ms: number, expire: () => void) {
    this.#ms = ms
    this.#expire = expire
  }

  /** Whether the peer stayed silent for a whole window. */
  get expired(): boolean {
    return this.#expired
  }

  /** It is the peer's turn: a full window starts now. */
  arm(): void {
    this.#clear()
    if (this.#ms === 0 || this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#expired = true
      this.#stopped = true
      this.#expire()
    }, this.#ms)
  }

  /** It is the client's turn: the peer's silence is not measured until the next {@link arm}. */
  suspend(): void {
    this.#clear()
  }

  /** The peer answered, or the attempt is over: the deadline never runs again. */
  stop(): void {
    this.#stopped = true
    this.#clear()
  }

  #clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
