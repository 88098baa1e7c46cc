import { performance } from 'node:perf_hooks'
import type { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { callHook, judgeAttempt, pathOf } from 'sticky-core'
import type { AttemptEvent, AttemptVerdict, Balancer, Decision, ExchangeError, Peer, RequestRefusal, ResolvedSharedProxyOptions } from 'sticky-core'
import type { FastifyResponseEvent } from './options'
import { cutEvent, failureEvent } from './attempt-event'
import { clientGone } from './client'
import { requestIdOf, writeForwarding } from './forwarded'
import type { ForwardingPlan } from './forwarded'
import { gatewayCode } from './gateway-error'
import { stripForUpstream, stripHopByHop, type HeaderMap } from './hop-by-hop'
import { answerOwn, ownError } from './respond'
import { BodyRelay } from './relay'
import type { ClientBody } from './request-body'
import { addPin, carriedPin } from './set-cookie'
import { targetUrl } from './target'
import { probing, TransportProbe } from './transport-probe'

/** What every exchange of one plugin instance shares. */
export interface ExchangeContext {
  readonly balancer: Balancer
  /** The `retries` option as given: `undefined` lets the core's default budget apply. */
  readonly retries: number | undefined
  /** Milliseconds of the peer's silence (`proxy.timeout`); 0 is no limit. */
  readonly timeout: number
  readonly trustProxy: ResolvedSharedProxyOptions['trustProxy']
  readonly forwarding: ForwardingPlan
  readonly onResponse: ((event: FastifyResponseEvent) => void) | undefined
  readonly onError: (error: unknown, request: FastifyRequest) => void
}

/** reply-from's own retries repeat the same URL; the core decides every retry, so its are off. */
const noSameUrlRetry = (): null => null

/**
 * One client request on its way through the peers: each attempt is sent with reply-from, what
 * happened is translated into the core's vocabulary (`failureEvent`, `cutEvent`), and
 * `judgeAttempt` decides whom to blame or credit and whether to relay, retry elsewhere, resend or
 * answer. The exchange only does what the verdict says.
 */
export class Exchange {
  readonly #ctx: ExchangeContext
  readonly #request: FastifyRequest
  readonly #reply: FastifyReply
  readonly #path: string
  readonly #body: ClientBody | undefined
  readonly #tried: Peer[] = []
  /**
   * The upstream fields last copied onto the reply (the request id's aside), to take back for an
   * own answer; their names are read only then.
   */
  #copied: HeaderMap | undefined
  /** When the exchange began, for `onResponse`'s `durationMs`; 0 without `onResponse`. */
  readonly #started: number
  /** Why the exchange did not end with the peer's complete response, once that is known. */
  #error: ExchangeError | undefined
  /** The request's id (`proxy.requestId`), the same for every attempt. */
  readonly #requestId: string | undefined
  /** Whether the client's connection comes from a trusted proxy (`proxy.trustProxy`); asked once, when first needed. */
  #trusted: boolean | undefined

  constructor(ctx: ExchangeContext, request: FastifyRequest, reply: FastifyReply, path: string, body: ClientBody | undefined) {
    this.#ctx = ctx
    this.#request = request
    this.#reply = reply
    this.#path = path
    this.#body = body
    this.#started = ctx.onResponse === undefined ? 0 : performance.now()
    const idField = ctx.forwarding.requestIdField
    if (idField !== undefined) {
      this.#requestId = requestIdOf(ctx.forwarding, request.headers as HeaderMap, this.#isTrusted())
      if (this.#requestId !== undefined) reply.header(idField, this.#requestId)
    }
  }

  #isTrusted(): boolean {
    this.#trusted ??= this.#ctx.trustProxy.trusts(this.#request.raw.socket?.remoteAddress)
    return this.#trusted
  }

  /** The names of the upstream fields copied onto the reply (see {@link #copied}). */
  #copiedNames(): readonly string[] {
    if (this.#copied === undefined) return []
    const idField = this.#ctx.forwarding.requestIdField
    return Object.keys(this.#copied).filter((name) => name !== idField)
  }

  /**
   * Sends the first attempt.
   * @throws what reply-from throws before any I/O (a path it refuses)
   */
  start(): void {
    if (this.#ctx.onResponse !== undefined) this.#reply.raw.once('close', () => this.#notify())
    const decision = this.#decide(undefined)
    this.#request.sticky = decision
    if (decision.peer === null) {
      this.#error = 'unavailable'
      answerOwn(this.#reply, decision.status ?? 502, 'STICKY_NO_PEER', [])
      return
    }
    this.#send(decision, decision.peer, false)
  }

  /** The balancer's decision for the request, without the peers in `exclude`. */
  #decide(exclude: readonly Peer[] | undefined): Decision {
    const { balancer } = this.#ctx
    const headers = this.#request.headers
    // Without a header carrier (the default) there is nothing to pass but the peers already tried.
    if (balancer.header === undefined) return balancer.decide(headers.cookie, exclude === undefined ? undefined : { exclude })
    return balancer.decide(headers.cookie, { exclude, header: carriedPin(balancer, headers) })
  }

  #send(decision: Decision, peer: Peer, resent: boolean): void {
    if (!resent) this.#tried.push(peer)
    this.#request.sticky = decision
    // Each attempt reads the body through its own stream (reply-from sends `request.body`).
    if (this.#body !== undefined) this.#request.body = this.#body.open()
    const probe = new TransportProbe()
    this.#body?.watchWaiting((waiting) => probe.holdTimeout(waiting))
    let settled = false
    const ctx = this.#ctx
    const requestId = this.#requestId
    probing(probe, () =>
      this.#reply.from(targetUrl(peer, this.#path), {
        retryDelay: noSameUrlRetry,
        timeout: ctx.timeout,
        // reply-from hands over its own copy of the client's fields; one more copy, without what
        // stays on this hop, is what goes upstream.
        rewriteRequestHeaders: (req, headers) => {
          const out = stripForUpstream(headers)
          writeForwarding(
            out,
            peer,
            { address: req.raw.socket?.remoteAddress, protocol: req.protocol, host: req.host },
            ctx.forwarding,
            this.#isTrusted(),
            requestId,
          )
          return out
        },
        rewriteHeaders: (headers) => {
          const relayed = stripHopByHop(headers)
          addPin(relayed, decision, ctx.balancer)
          this.#copied = relayed
          // The client sees one id, the one the proxy logged, in place of a peer's copy; an answer of
          // the proxy's own after this head keeps it, as it drops only the fields copied from the peer.
          const idField = ctx.forwarding.requestIdField
          if (idField !== undefined && requestId !== undefined) relayed[idField] = requestId
          return relayed
        },
        onResponse: (_request, _reply, upstream) => {
          // reply-from still calls onResponse after it answered an invalid upstream status itself.
          if (settled || this.#reply.sent) {
            upstream.stream.destroy()
            return
          }
          settled = true
          // A head that arrives while the transport still sends the body: the peer refuses the rest.
          const event: AttemptEvent = this.#body !== undefined && !this.#body.sent ? 'peer-answered-early' : 'peer-answered'
          this.#apply(this.#judge(event, resent), peer, decision, undefined)
          this.#relay(upstream.stream, peer, resent, probe, event === 'peer-answered-early')
        },
        onError: (_reply, { error }) => {
          // node:http may report the request's failure after the response head was relayed.
          if (settled) return
          settled = true
          const event = failureEvent(error, {
            ...probe.facts(),
            clientGone: clientGone(this.#request.raw, this.#reply.raw),
            awaitingClient: this.#body?.awaitingClient ?? false,
            uploading: this.#body !== undefined && !this.#body.replayable && this.#body.underWay,
          })
          this.#apply(this.#judge(event, resent), peer, decision, error)
        },
      }),
    )
  }

  #judge(event: AttemptEvent, resent: boolean): AttemptVerdict {
    return judgeAttempt(event, {
      method: this.#request.method,
      bodyReplayable: this.#body?.replayable ?? true,
      tried: this.#tried.length,
      retries: this.#ctx.retries,
      peers: this.#ctx.balancer.peers.length,
      resent,
    })
  }

  /** A request refused before any peer was asked (a path reply-from will not send). */
  reject(): void {
    this.#error = 'rejected'
  }

  /**
   * Answers a request sticky-core's `requestRefusal` refuses, in place of {@link start}: the balancer
   * decides (for `onResponse` and `request.sticky`), no peer is asked, nobody is pinned.
   */
  refuse(refusal: RequestRefusal): void {
    if (this.#ctx.onResponse !== undefined) this.#reply.raw.once('close', () => this.#notify())
    this.#request.sticky = this.#decide(undefined)
    this.#error = 'rejected'
    answerOwn(this.#reply, refusal.status, refusal.status === 501 ? 'STICKY_UNSUPPORTED_CODING' : 'STICKY_BAD_REQUEST', [])
  }

  /** Hands the finished exchange to `onResponse`; what it throws goes to `onError`. */
  #notify(): void {
    const onResponse = this.#ctx.onResponse
    const decision = this.#request.sticky
    if (onResponse === undefined || decision === null || decision === undefined) return
    const raw = this.#reply.raw
    const status = raw.headersSent ? raw.statusCode : 499
    const error = this.#error ?? (raw.writableFinished ? undefined : 'client-aborted')
    const event: FastifyResponseEvent = {
      request: this.#request,
      method: this.#request.method,
      path: pathOf(this.#request.url),
      decision,
      outcome: decision.outcome,
      status,
      peer: this.#tried[this.#tried.length - 1] ?? null,
      attempts: this.#tried.length,
      durationMs: performance.now() - this.#started,
      error,
      upgrade: false,
      requestId: this.#requestId,
    }
    callHook(onResponse, event, (thrown) => this.#ctx.onError(thrown, this.#request))
  }

  /** Does what the verdict says; `relay` is left to the caller, which holds the response. */
  #apply(verdict: AttemptVerdict, peer: Peer, decision: Decision, cause: unknown): void {
    if (verdict.blame) this.#ctx.balancer.report(peer, false)
    if (verdict.credit) this.#ctx.balancer.report(peer, true)
    switch (verdict.next) {
      case 'relay':
        return
      case 'resend-same':
        this.#send(decision, peer, true)
        return
      case 'retry-other': {
        const next = this.#decide(this.#tried)
        if (next.peer !== null) {
          this.#send(next, next.peer, false)
          return
        }
        this.#request.sticky = next
        break
      }
      case 'answer':
        break
    }
    this.#error = verdict.error ?? 'proxy'
    answerOwn(this.#reply, verdict.status ?? 502, gatewayCode(verdict.error), this.#copiedNames(), cause)
  }

  /**
   * Streams the peer's response body to the client through a relay of its own, so that a peer
   * that cuts its body short is answered by the proxy (502 before any byte went out, a cut
   * response after) instead of by Fastify with the transport's raw error.
   */
  #relay(upstream: Readable, peer: Peer, resent: boolean, probe: TransportProbe, early: boolean): void {
    const out = new BodyRelay(upstream)
    // A response paused because the client does not read is waiting on the client, not the peer
    // (node:http's idle timer; undici's body timeout does not run while the body is paused).
    if (probe.holdsTimer) {
      upstream.on('pause', () => probe.holdTimeout(true))
      upstream.on('resume', () => probe.holdTimeout(false))
    }
    let over = upstream.readableEnded
    const cut = (): void => {
      if (over) return
      over = true
      const verdict = this.#judge(cutEvent(clientGone(this.#request.raw, this.#reply.raw), early), resent)
      if (verdict.blame) this.#ctx.balancer.report(peer, false)
      this.#error = verdict.error ?? 'upstream-aborted'
      if (this.#reply.raw.headersSent || verdict.status === 499) {
        out.destroy()
        return
      }
      out.destroy(ownError(this.#reply, verdict.status ?? 502, gatewayCode(verdict.error), this.#copiedNames()))
    }
    upstream.once('end', () => (over = true))
    upstream.on('error', cut)
    upstream.once('close', cut)
    // The transport may have failed the body between the head and this call.
    if (upstream.closed) cut()
    // The client's side ended first (it left, or Fastify gave up): let go of the peer's response.
    out.once('close', () => {
      if (!upstream.destroyed) upstream.destroy()
    })
    this.#reply.send(out)
  }
}
