import type { Writable } from 'node:stream'
import type { Peer } from 'sticky-core'
import type { Dispatcher, Pool } from 'undici'
import type { AgentPool } from './agents'
import type { Exchange, PooledUpstream } from './exchange'

/**
 * Whether a request can take the peer's undici pool: requests that can always be sent again
 * (idempotent, no body), so that undici's refusal of an interim 100 costs nothing but a resend through
 * node:http (see `Exchange.pooledFailed`), and origin-form targets only (`OPTIONS *` goes through node:http).
 */
export function poolable(idempotent: boolean, withBody: boolean, path: string): boolean {
  return idempotent && !withBody && path.charCodeAt(0) === 47 /* / */
}

/**
 * One attempt through the peer's undici `Pool`, as the pool's handler object: what happens is reported
 * to the {@link Exchange} in sticky-core's words, and the peer's body is relayed without a stream in
 * between, backpressure pausing the pool's parser (which stops undici's body timer too: a slow client
 * is not the peer's silence). A request's and an upgrade's attempts differ only in what they do with
 * the peer's head and its end.
 */
export abstract class PooledAttempt implements PooledUpstream {
  protected readonly exchange: Exchange
  protected readonly peer: Peer
  readonly #agents: AgentPool
  readonly #pool: Pool
  readonly #options: Dispatcher.DispatchOptions
  #abort: ((error?: Error) => void) | undefined
  /** The attempt is over for this object: completed, failed, or destroyed by the exchange. */
  protected done = false
  /** Whether the connection had carried an exchange before this one. */
  #reused = false
  /** The peer's head was relayed: what follows is its body. */
  protected relaying = false
  #resume: (() => void) | undefined

  constructor(exchange: Exchange, agents: AgentPool, peer: Peer, pool: Pool, options: Dispatcher.DispatchOptions) {
    this.exchange = exchange
    this.#agents = agents
    this.peer = peer
    this.#pool = pool
    this.#options = options
  }

  start(): void {
    try {
      this.#pool.dispatch(this.#options, this)
    } catch (error) {
      this.onError(error as Error)
    }
  }

  destroy(): void {
    if (this.done) return
    this.finish()
    this.#abort?.()
  }

  /** Nothing more is reported for this attempt; it no longer counts as in flight. */
  protected finish(): void {
    this.done = true
    this.exchange.pooledClosed(this.peer)
  }

  onConnect(abort: (error?: Error) => void): void {
    const fresh = this.#agents.takeFresh()
    if (this.done) return abort()
    this.#abort = abort
    this.#reused = !fresh
    this.exchange.pooledConnected(this)
  }

  onError(error: Error): void {
    if (this.done) return
    this.finish()
    this.exchange.pooledFailed(this, this.peer, error, this.#reused)
    if (this.relaying && !this.exchange.relayEnded(this.peer, false)) this.cutClient()
  }

  /** The peer's head went out to the client: `resume` restarts the parser once the client drained. */
  protected relayingBody(resume: () => void): void {
    this.relaying = true
    this.#resume = resume
  }

  /** Relays a chunk of the peer's body to `out`; `false` pauses the peer until `out` drains. */
  protected relayChunk(out: Writable, chunk: Buffer): boolean {
    if (this.done || out.destroyed || out.writableEnded || out.write(chunk)) return true
    out.once('drain', this.#resume as () => void)
    return false
  }

  /** The peer cut its answer after the head: the client's side is cut too. */
  protected abstract cutClient(): void
}
