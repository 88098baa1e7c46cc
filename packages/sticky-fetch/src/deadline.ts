/**
 * How long a peer may stay silent during one attempt (`proxy.timeout`).
 *
 * It measures the peer's silence only: it runs while the attempt waits on the peer (to connect, to
 * read the next chunk of the body, to send its response head) and is suspended while the attempt
 * waits on the client for the next chunk of its body. A slow upload is the client's, not the peer's;
 * a peer that stops reading the body makes fetch stop asking for chunks, so the deadline runs and
 * expires. Each handed-over chunk gives the peer a full window again.
 *
 * One runtime timer serves every window of the attempt: {@link arm} and {@link suspend} only note
 * the time and whose turn it is, and a timer that fires early for the current window is set again
 * for what is left of it. A fast peer thus costs one timer per attempt, however many chunks or turns
 * its exchange takes (a timer per turn was a measurable share of a Worker's time per request).
 */
export class PeerDeadline {
  readonly #ms: number
  readonly #expire: () => void
  #timer: ReturnType<typeof setTimeout> | undefined
  /** When the current window started (`Date.now()`), while it is the peer's turn; `undefined` while it is the client's. */
  #since: number | undefined
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
    if (this.#ms === 0 || this.#stopped) return
    this.#since = Date.now()
    if (this.#timer === undefined) this.#schedule(this.#ms)
  }

  /** It is the client's turn: the peer's silence is not measured until the next {@link arm}. */
  suspend(): void {
    this.#since = undefined
  }

  /** The peer answered, or the attempt is over: the deadline never runs again. */
  stop(): void {
    this.#stopped = true
    this.#since = undefined
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => this.#fire(), ms)
  }

  #fire(): void {
    this.#timer = undefined
    const since = this.#since
    // The client's turn, or a stopped deadline: the next arm sets a timer again.
    if (since === undefined || this.#stopped) return
    const left = since + this.#ms - Date.now()
    if (left > 0) {
      this.#schedule(left)
      return
    }
    this.#expired = true
    this.#stopped = true
    this.#since = undefined
    this.#expire()
  }
}
