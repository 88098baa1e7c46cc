import { ClientRequest, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { isRefusedInterim, judgeAttempt, transportErrorEvent, type AttemptEvent, type AttemptVerdict, type Decision, type Peer } from 'sticky-core'
import type { ProxyContext } from './context'
import { countInFlight, emitAttempt, reportPassive, type ProxyEvents } from './events'
import { isConnectionReset, UpstreamTimeoutError } from './failure'
import { carriedPin } from './pin-headers'
import type { ProxyError } from './options'

/**
 * Where one client exchange stands:
 * - `routing`: no attempt is open (before the first, or between two);
 * - `connecting`: the attempt's connection is not established yet;
 * - `sending`: connected, the request (and its body) goes out, no response head yet;
 * - `relaying`: the peer's response head arrived, its answer (or tunnel) is being relayed;
 * - `answered`: the proxy answered itself (502, 504, ...);
 * - `abandoned`: the client went away.
 */
export type ExchangePhase = 'routing' | 'connecting' | 'sending' | 'relaying' | 'answered' | 'abandoned'

/**
 * An attempt sent through a pooled client (undici) rather than node:http: it reports its progress
 * itself, through the exchange's `pooled*` methods.
 */
export interface PooledUpstream {
  /** Sends the request; called once the exchange holds it as its current attempt. */
  start(): void
  /** Ends the attempt (its connection is not reused); nothing more is reported for it. */
  destroy(): void
}

/** The request of one attempt. */
export type Upstream = ClientRequest | PooledUpstream

/** What a kind of exchange (a request, an upgrade) does on the wire; the {@link Exchange} decides when. */
export interface ExchangeIo {
  /** Builds the request to `peer`. It may throw (a user's agent factory): no peer was contacted then. */
  open(peer: Peer): Upstream
  /**
   * The attempt's connection is established: start sending what follows the head. Undefined when
   * nothing follows it: then an attempt on a kept-alive connection waits for no event.
   */
  readonly connected: ((up: ClientRequest) => void) | undefined
  /** Whether the whole request could still be sent again (no body, or none of it left the client). */
  bodyReplayable(): boolean
  /**
   * Whether the request's body is still on its way: not all of it has been taken from the client
   * (fewer bytes than its `Content-Length`, or its end not yet read). Undefined for requests without one.
   */
  readonly uploading?: (() => boolean) | undefined
  /** The proxy answers the client itself. */
  answer(status: number, error: ProxyError): void
}

/**
 * One client exchange and its attempts: asks the balancer, opens each attempt, translates what
 * node:http reports into the core's {@link AttemptEvent}s, and does what `judgeAttempt` says
 * (report, retry on another peer, resend on a fresh connection, or answer). Shared by requests and
 * upgrades, so both follow the one policy of sticky-core.
 */
export class Exchange {
  phase: ExchangePhase = 'routing'
  decision: Decision
  /** Distinct peers tried, in order; the last one is the current attempt's. */
  readonly tried: Peer[] = []
  /** Why the proxy, not the peer, ended the exchange; `undefined` while the peer's answer is relayed. */
  error: ProxyError | undefined
  readonly started: number = performance.now()
  #resent = false
  /** The next attempt goes to the current peer again, as the same attempt (see `pooledFailed`). */
  #again = false
  /** The request was sent again past undici's refusal of an interim 100: never twice. */
  #pastInterim = false
  #upstream: Upstream | undefined
  #timedOut = false
  /** Attempts opened so far, resends included. */
  #attempts = 0
  /** When the current attempt started (`performance.now()`), read only for `onAttempt`. */
  #attemptStarted = 0
  /** Whether the failure after the head was recorded: a cut response is not also a client gone. */
  #endRecorded = false
  readonly #events: ProxyEvents
  readonly #ctx: ProxyContext
  readonly #req: IncomingMessage
  readonly #io: ExchangeIo

  constructor(ctx: ProxyContext, req: IncomingMessage, io: ExchangeIo) {
    this.#ctx = ctx
    this.#req = req
    this.#io = io
    this.#events = ctx.events
    this.decision = ctx.balancer.decide(req.headers.cookie, { header: carriedPin(ctx.balancer, req.headers) })
  }

  /** The upstream request of the current attempt, if one is open. */
  get upstream(): Upstream | undefined {
    return this.#upstream
  }

  /** The peer of the current (or last) attempt. */
  get peer(): Peer | null {
    return this.tried.at(-1) ?? null
  }

  /** Whether the client can still be answered by the proxy or relayed to. */
  get live(): boolean {
    return this.phase !== 'answered' && this.phase !== 'abandoned'
  }

  /** Opens an attempt to the decision's peer; its outcome comes back through {@link settle}. */
  attempt(): void {
    const peer = this.decision.peer
    if (peer === null) return this.answer(this.decision.status ?? 502, 'unavailable')
    if (!this.#resent && !this.#again) this.tried.push(peer)
    this.#again = false
    this.#attempts++
    const events = this.#events
    if (events.onAttempt !== undefined) this.#attemptStarted = performance.now()
    let opened: Upstream
    try {
      opened = this.#io.open(peer)
    } catch {
      // The request could not even be built (a throwing agent factory): no peer saw anything.
      this.settle(peer, 'proxy-failed')
      return
    }
    this.#upstream = opened
    this.#timedOut = false
    countInFlight(events, peer, true)
    this.phase = 'connecting'
    if (!(opened instanceof ClientRequest)) return opened.start()
    const up = opened
    if (up.reusedSocket && this.#io.connected === undefined) {
      // The agent handed out a kept-alive connection (it says so while building the request): it is
      // established already, and nothing waits for it.
      this.phase = 'sending'
    } else {
      const connected = (): void => {
        if (up !== this.#upstream || this.phase !== 'connecting') return
        this.phase = 'sending'
        this.#io.connected?.(up)
      }
      up.once('socket', (socket: Socket) => {
        if (!socket.connecting) connected()
        else socket.once('encrypted' in socket ? 'secureConnect' : 'connect', connected)
      })
    }
    up.on('timeout', () => {
      this.#timedOut = true
      up.destroy(new UpstreamTimeoutError(this.#ctx.options.timeout))
    })
    // node:http closes some attempts without an error (an unasked 101 when nobody listens for
    // upgrades): an attempt that ends before any answer is a peer that broke the protocol.
    up.once('close', () => {
      countInFlight(events, peer, false)
      if (up === this.#upstream && (this.phase === 'connecting' || this.phase === 'sending')) this.settle(peer, 'peer-protocol-error')
    })
    up.on('error', (cause: unknown) => {
      // After the head, the response's own end decides (see `relayEnded`); an old attempt is over.
      if (up !== this.#upstream || (this.phase !== 'connecting' && this.phase !== 'sending')) return
      this.settle(peer, this.#classify(up, cause))
    })
  }

  /** A pooled attempt's request went onto its connection: what follows is sending. */
  pooledConnected(up: PooledUpstream): void {
    if (up === this.#upstream && this.phase === 'connecting') this.phase = 'sending'
  }

  /**
   * A pooled attempt failed. Before the response head, the failure is judged here; after it, the
   * caller ends the relay (`relayEnded`), which reads whether the peer fell silent.
   * @param reused - whether the attempt's connection had carried an exchange before
   */
  pooledFailed(up: PooledUpstream, peer: Peer, cause: unknown, reused: boolean): void {
    if (up !== this.#upstream) return
    if (isPooledTimeout(cause)) this.#timedOut = true
    if (this.phase !== 'connecting' && this.phase !== 'sending') return
    if (isRefusedInterim(cause) && !this.#pastInterim && this.#io.bodyReplayable()) {
      // undici refuses any interim 100 (it closes the connection), which node:http relays past: the
      // request is sent again, as the same attempt, through node:http, and so are the peer's next ones.
      // Only requests that can be sent again take the pool (see forwardRequest), so this holds.
      this.#ctx.agents.refusedInterim(peer)
      this.#pastInterim = true
      this.#again = true
      this.attempt()
      return
    }
    this.settle(peer, this.#classifyPooled(cause, reused))
  }

  /** A pooled attempt is over, whatever its end: it no longer counts as in flight. */
  pooledClosed(peer: Peer): void {
    countInFlight(this.#events, peer, false)
  }

  /** What undici's error means, in the core's words. */
  #classifyPooled(cause: unknown, reused: boolean): AttemptEvent {
    const connecting = this.phase === 'connecting'
    const code = (cause as { code?: unknown } | null)?.code
    // The request could not be built or sent by the client (the proxy was closed meanwhile).
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED' || code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') return 'proxy-failed'
    // A refused interim 100 of a request that cannot be sent again, or a head that is not HTTP/1.1.
    const named = transportErrorEvent(cause)
    if (named !== undefined) return named
    if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect-timeout'
    if (this.#timedOut) return connecting ? 'connect-timeout' : 'peer-silent'
    // Before any head was relayed, a length mismatch is the head's: `Content-Length` with
    // `Transfer-Encoding`, or out of range.
    if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return 'peer-protocol-error'
    if (connecting) return 'connect-failed'
    if (reused && (isConnectionReset(cause) || code === 'UND_ERR_SOCKET')) return 'stale-connection'
    return 'peer-reset'
  }

  /** Whether the current attempt's socket timed out (then a cut response is the peer's silence). */
  get timedOut(): boolean {
    return this.#timedOut
  }

  /**
   * Applies the core's verdict on `event` for `peer`: reports to the balancer, then relays (returns
   * `true`: the caller relays the response), retries, resends or answers (returns `false`).
   */
  settle(peer: Peer, event: AttemptEvent): boolean {
    const ctx = this.#ctx
    const verdict = this.#judge(event, this.#io.bodyReplayable())
    if (verdict.blame) reportPassive(ctx, peer, false)
    if (verdict.credit) reportPassive(ctx, peer, true)
    this.#record(peer, event, verdict, false)
    switch (verdict.next) {
      case 'relay':
        this.phase = 'relaying'
        return true
      case 'resend-same':
        this.#resent = true
        ctx.agents.discardIdle(peer)
        this.attempt()
        return false
      case 'retry-other':
        this.#resent = false
        this.decision = ctx.balancer.decide(this.#req.headers.cookie, { exclude: this.tried, header: carriedPin(ctx.balancer, this.#req.headers) })
        if (this.decision.peer === null) this.answer(verdict.status ?? 502, verdict.error ?? 'connect')
        else this.attempt()
        return false
      case 'answer':
        this.answer(verdict.status ?? 502, verdict.error ?? 'connect')
        return false
    }
  }

  /**
   * The relayed response ended: completely, or cut by the peer (its fault: closed, reset or silent
   * mid-body). Returns whether it was complete.
   */
  relayEnded(peer: Peer, complete: boolean, early = false): boolean {
    if (complete || !this.live) return complete
    // The body of an early answer broke off: the peer's reset of the unread upload took it.
    const event = early ? 'peer-closed-during-upload' : 'peer-cut-response'
    const verdict = this.#judge(event, false)
    if (verdict.blame) reportPassive(this.#ctx, peer, false)
    this.#record(peer, event, verdict, true)
    this.error ??= this.#timedOut ? 'timeout' : verdict.error
    return false
  }

  /** The client went away: nobody reads the answer, and the peer is not to blame. */
  abandon(): void {
    if (!this.live) return
    const open = this.phase === 'connecting' || this.phase === 'sending' || this.phase === 'relaying'
    const afterHead = this.phase === 'relaying'
    this.phase = 'abandoned'
    const peer = this.peer
    const verdict = this.#judge('client-gone', false)
    if (peer !== null && verdict.blame) reportPassive(this.#ctx, peer, false)
    if (peer !== null && open) this.#record(peer, 'client-gone', verdict, afterHead)
    this.error ??= verdict.error
    this.#upstream?.destroy()
  }

  /** Hands the attempt's judgement to `onAttempt`, if there is one. */
  #record(peer: Peer, event: AttemptEvent, verdict: AttemptVerdict, afterHead: boolean): void {
    const events = this.#events
    if (events.onAttempt === undefined || (afterHead && this.#endRecorded)) return
    if (afterHead) this.#endRecorded = true
    emitAttempt(this.#ctx, {
      peer,
      event,
      verdict,
      attempt: this.#attempts,
      retry: !this.#resent && this.tried.length > 1,
      resend: this.#resent,
      afterHead,
      durationMs: performance.now() - this.#attemptStarted,
      request: this.#req,
    })
  }

  #judge(event: AttemptEvent, bodyReplayable: boolean): AttemptVerdict {
    return judgeAttempt(event, {
      method: this.#req.method ?? 'GET',
      bodyReplayable,
      tried: this.tried.length,
      retries: this.#ctx.options.retries,
      peers: this.#ctx.balancer.peers.length,
      resent: this.#resent,
    })
  }

  /** The proxy answers the client itself (once, while it can), closing the current attempt. */
  answer(status: number, error: ProxyError): void {
    if (!this.live) return
    this.phase = 'answered'
    this.error = error
    this.#upstream?.destroy()
    this.#io.answer(status, error)
  }

  /** What node:http's error means, in the core's words. */
  #classify(up: ClientRequest, cause: unknown): AttemptEvent {
    const connecting = this.phase === 'connecting'
    if (this.#timedOut) return connecting ? 'connect-timeout' : 'peer-silent'
    if (transportErrorEvent(cause) === 'peer-protocol-error') return 'peer-protocol-error'
    if (up.reusedSocket && isConnectionReset(cause)) return 'stale-connection'
    if (connecting) return 'connect-failed'
    // Part of the body went out and the rest had not: the close ended an upload (see body-relay.ts).
    return !this.#io.bodyReplayable() && this.#io.uploading?.() === true ? 'peer-closed-during-upload' : 'peer-reset'
  }
}

/** undici's own timers: connecting, or the peer silent before its head or within its body. */
function isPooledTimeout(cause: unknown): boolean {
  const code = (cause as { code?: unknown } | null)?.code
  return code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT'
}
