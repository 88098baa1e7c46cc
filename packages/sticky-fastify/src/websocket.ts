import { ServerResponse, STATUS_CODES } from 'node:http'
import type { IncomingMessage } from 'node:http'
import { connect as netConnect } from 'node:net'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import type { FastifyInstance } from 'fastify'
import { callHook, judgeAttempt, pathOf, rawRequestRefusal } from 'sticky-core'
import type { AttemptEvent, AttemptVerdict, Balancer, Decision, ExchangeError, ForwardedSelection, Peer } from 'sticky-core'
import WebSocket, { WebSocketServer } from 'ws'
import type { RawData } from 'ws'
import { failureEvent } from './attempt-event'
import { forwardingPlan, requestIdOf, writeForwarding } from './forwarded'
import type { ForwardingPlan } from './forwarded'
import { gatewayCode, StickyGatewayError } from './gateway-error'
import type { GatewayErrorCode } from './gateway-error'
import { stripForUpstream, stripHopByHop } from './hop-by-hop'
import type { HeaderMap } from './hop-by-hop'
import { logHookError } from './options'
import type { FastifyUpgradeEvent, ResolvedOptions } from './options'
import { originForm } from './origin-form'

import { isUnderPrefix, upstreamPath } from './prefix'
import { addPin, carriedPin } from './set-cookie'

/**
 * A side whose peer has this many bytes queued (ws's `bufferedAmount`: the socket's write buffer
 * plus frames not yet handed to it) stops being read until the queue drains below
 * {@link RESUME_BELOW}. One megabyte holds many ordinary messages, so a healthy tunnel never
 * pauses, while a reader that stopped reading cannot make the proxy hold more than about that
 * (plus the one message in flight, up to ws's `maxPayload`) per direction.
 */
export const PAUSE_ABOVE: number = 1024 * 1024

/** The low-water mark: a paused side is read again once its peer's queue fell below this. */
const RESUME_BELOW = PAUSE_ABOVE / 4

/**
 * How long `close()` waits for a tunnel's closing handshakes (a `1001 Going Away` sent to both
 * ends) before cutting its connections: long enough for a live peer to answer, short enough that
 * a silent one does not hold Fastify's shutdown for ws's own 30 seconds.
 */
const CLOSE_GRACE_MS = 2_000

/**
 * Fields the upstream handshake sets itself (ws writes the key, version and offered subprotocols
 * of its own handshake: the client's key would not match the peer's accept), or that an upgrade
 * never carries on to the peer.
 */
const HANDSHAKE_FIELDS: ReadonlySet<string> = new Set([
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'sec-websocket-accept',
  'content-length',
  'expect',
])

/** The upgrade listeners of sticky-fastify instances, to tell the application's own ones apart. */
const STICKY_LISTENERS = new WeakSet<(...args: never[]) => void>()

/** Upgrade requests some sticky-fastify instance took. */
const CLAIMED = new WeakSet<IncomingMessage>()

/** What every upgrade of one plugin instance shares. */
interface UpgradeContext {
  readonly balancer: Balancer
  readonly retries: number | undefined
  readonly timeout: number
  readonly xForwarded: ForwardedSelection
  readonly trustProxy: ResolvedOptions['trustProxy']
  readonly requestId: string | undefined
  readonly forwarding: ForwardingPlan
  readonly prefix: string
  readonly rewritePrefix: string
  readonly onResponse: ((event: FastifyUpgradeEvent) => void) | undefined
  readonly onError: ResolvedOptions['onError']
  /** Set once Fastify closes: what is still in flight is the proxy's own failure, nobody's fault. */
  closing: boolean
}

/**
 * Proxies WebSocket upgrades under the plugin's prefix to the peer the balancer picks from the
 * request's cookie, with `ws` on both sides: a client `WebSocket` to the peer first, and only once
 * the peer accepted, the client's own upgrade (through a `noServer` `WebSocketServer`), so that a
 * failure can still be answered with a status. Messages are then relayed both ways.
 *
 * Upgrades outside the prefix are left to the application's other `upgrade` listeners (such as
 * `@fastify/websocket`'s); when there is none, they go through Fastify's router like any request,
 * as they would without this listener (Node hands an upgrade nobody listens for to `request`).
 */
export function installWebSocketProxy(instance: FastifyInstance, options: ResolvedOptions): void {
  const ctx: UpgradeContext = {
    balancer: options.balancer,
    retries: options.retries,
    timeout: options.timeout,
    xForwarded: options.xForwarded,
    trustProxy: options.trustProxy,
    requestId: options.requestId,
    forwarding: forwardingPlan(options),
    prefix: options.prefix,
    rewritePrefix: options.rewritePrefix,
    onResponse: options.onResponse,
    // The default handler logs with the request's logger, which an upgrade lacks: Fastify's instead.
    onError: options.onError === logHookError ? (error) => instance.log.error({ err: error }, 'sticky-fastify: onResponse threw') : options.onError,
    closing: false,
  }
  const live = new Set<Upgrade>()
  const pending = new WeakMap<IncomingMessage, Upgrade>()
  const wss = new WebSocketServer({
    noServer: true,
    // Each hop negotiates its own compression; the proxy relays messages, so it offers none and
    // spends no CPU inflating and deflating them again.
    perMessageDeflate: false,
    clientTracking: false,
    // Called by ws once the client's handshake is valid: the peer is asked before it is accepted.
    verifyClient: (info: { req: IncomingMessage }, accept: (verified: boolean) => void) => {
      const upgrade = pending.get(info.req)
      if (upgrade === undefined) accept(false)
      else upgrade.verified(accept)
    },
    handleProtocols: (_offered: Set<string>, req: IncomingMessage) => pending.get(req)?.protocol || false,
  })
  // The 101 to the client carries the balancer's cookie, as any relayed response does.
  wss.on('headers', (headers: string[], req: IncomingMessage) => {
    const decision = pending.get(req)?.decision
    if (decision?.setCookie != null) headers.push(`Set-Cookie: ${decision.setCookie}`)
    // The header carrier, for clients that keep no cookies (the 101 is the only response they get).
    const name = options.balancer.header
    if (name !== undefined && decision?.headerValue != null) headers.push(`${name}: ${decision.headerValue}`)
    const id = pending.get(req)?.requestIdField
    if (id !== undefined) headers.push(`${id[0]}: ${id[1]}`)
  })
  // An invalid handshake (wrong method, key or version): answered like the proxy's other refusals.
  wss.on('wsClientError', (error: Error, socket: Duplex, req: IncomingMessage) => {
    pending.get(req)?.refused(error.message.includes('method') ? 405 : 400, error.message)
    if (!pending.has(req)) socket.destroy()
  })

  const server = instance.server
  const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (ctx.closing) return
    if (isWebSocketUpgrade(req) && isUnderPrefix(originForm(req.url ?? '/'), ctx.prefix)) {
      CLAIMED.add(req)
      const upgrade = new Upgrade(ctx, req, socket, () => live.delete(upgrade))
      live.add(upgrade)
      pending.set(req, upgrade)
      upgrade.start()
      wss.handleUpgrade(req, socket, head, (client) => upgrade.accepted(client))
      return
    }
    const listeners = server.listeners('upgrade')
    const onlyOurs = listeners.every((l) => STICKY_LISTENERS.has(l as (...args: never[]) => void))
    if (onlyOurs && listeners[listeners.length - 1] === listener && !CLAIMED.has(req)) toRouter(instance, req, socket)
  }
  STICKY_LISTENERS.add(listener)
  server.on('upgrade', listener)
  // preClose, not onClose: Fastify closes the server before its onClose hooks run, and the server
  // waits for every connection, upgraded ones included, to end.
  instance.addHook('preClose', (done) => {
    ctx.closing = true
    server.off('upgrade', listener)
    Promise.all([...live].map((upgrade) => upgrade.shutdown())).then(
      () => wss.close(() => done()),
      () => wss.close(() => done()),
    )
  })
}

/** Whether `req` asks to switch to WebSocket (other upgrades, `h2c` say, are plain requests here). */
function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade
  return typeof upgrade === 'string' && upgrade.split(',').some((p) => p.trim().toLowerCase() === 'websocket')
}

/**
 * Hands an upgrade nobody else wants to Fastify's router as a plain request on a connection that
 * closes after the answer (the HTTP parser let go of it when it saw the upgrade).
 */
function toRouter(instance: FastifyInstance, req: IncomingMessage, socket: Duplex): void {
  const res = new ServerResponse(req)
  res.shouldKeepAlive = false
  res.assignSocket(socket as Socket)
  res.once('finish', () => {
    res.detachSocket(socket as Socket)
    socket.end(() => socket.destroy())
  })
  instance.routing(req, res)
}

/** A close code ws may send: the reserved "no code" (1005), "abnormal" (1006) and "TLS" (1015) are not. */
export function sendableCloseCode(code: number): number {
  if (code === 1005) return 1000
  if (code === 1006 || code === 1015) return 1011
  if ((code >= 1000 && code <= 1014 && code !== 1004) || (code >= 3000 && code <= 4999)) return code
  return 1011
}

/**
 * One upgrade on its way through the peers, then the tunnel. Each attempt opens a `ws` client to a
 * peer; what happens is put in sticky-core's words (`AttemptEvent`) and `judgeAttempt` decides
 * whom to blame or credit and whether to try another peer or answer. Once a peer sent its 101 the
 * client's upgrade is completed and messages flow; nothing after that blames the peer (a
 * WebSocket may end any time, for either side's reasons).
 */
class Upgrade {
  readonly #ctx: UpgradeContext
  readonly #req: IncomingMessage
  readonly #socket: Duplex
  readonly #forget: () => void
  readonly #started = performance.now()
  /** The request's id (`proxy.requestId`): the same for every attempt, the 101 and any refusal. */
  readonly #requestId: string | undefined
  /** Whether the client's connection comes from a trusted proxy (`proxy.trustProxy`), as it arrived. */
  readonly #trusted: boolean
  readonly #tried: Peer[] = []
  #decision: Decision | undefined
  #accept: ((verified: boolean) => void) | undefined
  /** The attempt in flight, or the peer's side of the tunnel. */
  #upstream: WebSocket | undefined
  #client: WebSocket | undefined
  /** The status the client got; 0 while none. */
  #status = 0
  #error: ExchangeError | undefined
  #clientGone = false

  constructor(ctx: UpgradeContext, req: IncomingMessage, socket: Duplex, forget: () => void) {
    this.#ctx = ctx
    this.#req = req
    this.#socket = socket
    this.#forget = forget
    this.#trusted = ctx.trustProxy.trusts(req.socket.remoteAddress)
    this.#requestId = requestIdOf(ctx.forwarding, req.headers as HeaderMap, this.#trusted)
  }

  /** The request id as a response field (`[name, id]`), when `proxy.requestId` is on. */
  get requestIdField(): readonly [string, string] | undefined {
    const name = this.#ctx.requestId
    return name === undefined || this.#requestId === undefined ? undefined : [name, this.#requestId]
  }

  /** `headers` for an answer of the proxy's own, with the request id when on. */
  #ownHeaders(headers: Record<string, string>): Record<string, string> {
    const field = this.requestIdField
    return field === undefined ? headers : { ...headers, [field[0]]: field[1] }
  }

  /** The balancer's decision, once ws found the handshake valid. */
  get decision(): Decision | undefined {
    return this.#decision
  }

  /** The subprotocol the peer chose, which the client's 101 names. */
  get protocol(): string | undefined {
    return this.#upstream?.protocol || undefined
  }

  start(): void {
    // A client that resets its connection must not take the process down; its close follows.
    this.#socket.on('error', () => undefined)
    this.#socket.once('close', () => this.#clientClosed())
  }

  /** ws found the client's handshake valid: decide, and try the peers before accepting it. */
  verified(accept: (verified: boolean) => void): void {
    this.#accept = accept
    const decision = this.#ctx.balancer.decide(this.#req.headers.cookie, { header: carriedPin(this.#ctx.balancer, this.#req.headers) })
    this.#decision = decision
    const refusal = rawRequestRefusal(this.#req.rawHeaders, { upgrade: true })
    if (refusal !== undefined) {
      this.refused(refusal.status, refusal.reason)
      return
    }
    if (decision.peer === null) {
      this.#error = 'unavailable'
      this.#answer(decision.status ?? 502, 'STICKY_NO_PEER')
      return
    }
    this.#attempt(decision, decision.peer)
  }

  /** ws refused the client's handshake itself (`wsClientError`), or sticky-core's `requestRefusal` did: no peer was asked. */
  refused(status: 400 | 405 | 501, reason: string): void {
    this.#error = 'rejected'
    this.#status = status
    writeAndClose(this.#socket, status, this.#ownHeaders({ 'Content-Type': 'text/plain; charset=utf-8' }), Buffer.from(`${reason}\n`))
  }

  #attempt(decision: Decision, peer: Peer): void {
    this.#decision = decision
    this.#tried.push(peer)
    const url = this.#url(peer)
    let connected = false
    let answered = false
    let timedOut = false
    let settled = false
    const target = peer.target
    // The proxy makes the connection itself: to reach a unix socket, and to know whether the
    // connection was made (a timeout before it is the connection's, after it the peer's silence).
    const createConnection = (): Duplex => {
      const socket =
        target.kind === 'unix'
          ? netConnect({ path: target.socketPath })
          : target.protocol === 'https:'
            ? tlsConnect({ host: target.host, port: target.port, servername: isIpLiteral(target.host) ? '' : target.host, ALPNProtocols: ['http/1.1'] })
            : netConnect({ host: target.host, port: target.port })
      socket.once(target.protocol === 'https:' && target.kind === 'tcp' ? 'secureConnect' : 'connect', () => (connected = true))
      return socket
    }
    const upstream = new WebSocket(url, offeredProtocols(this.#req), {
      headers: this.#headers(peer),
      perMessageDeflate: false,
      followRedirects: false,
      createConnection: createConnection as unknown as NonNullable<WebSocket.ClientOptions['createConnection']>,
    })
    this.#upstream = upstream
    const timer =
      this.#ctx.timeout > 0
        ? setTimeout(() => {
            timedOut = true
            upstream.terminate()
          }, this.#ctx.timeout)
        : undefined
    const settle = (): boolean => {
      if (settled) return false
      settled = true
      if (timer !== undefined) clearTimeout(timer)
      return true
    }

    upstream.once('upgrade', () => (answered = true))
    upstream.on('unexpected-response', (request, response) => {
      if (!settle()) return
      // The peer declined the upgrade (a 401, a 403, a redirect): relay its answer and close.
      if (this.#clientGone) {
        this.#judge('client-gone', peer)
        request.destroy()
        return
      }
      this.#judge('peer-answered', peer)
      this.#relayAnswer(response, peer, () => request.destroy())
    })
    upstream.once('open', () => {
      if (!settle()) return
      if (this.#clientGone) {
        this.#judge('client-gone', peer)
        upstream.terminate()
        return
      }
      this.#judge('peer-answered', peer)
      // ws completes the client's handshake now (handleProtocols, the 'headers' event, then accepted()).
      this.#accept?.(true)
    })
    upstream.on('error', (error) => {
      if (!settle()) return
      const event = this.#failureEvent(error, { connected, answered, timedOut })
      const verdict = this.#judge(event, peer)
      this.#apply(verdict)
    })
  }

  #failureEvent(error: Error, facts: { connected: boolean; answered: boolean; timedOut: boolean }): AttemptEvent {
    if (this.#clientGone) return 'client-gone'
    if (this.#ctx.closing) return 'proxy-failed'
    if (facts.timedOut) return facts.connected ? 'peer-silent' : 'connect-timeout'
    // ws refused the peer's 101 (a wrong accept key, subprotocol or extension): the peer's protocol error.
    if (facts.answered) return 'peer-protocol-error'
    return failureEvent(error, { sent: facts.connected, reused: false, answerStarted: false, clientGone: false, awaitingClient: false, uploading: false })
  }

  /** Blames or credits the peer as `judgeAttempt` says; the caller does the rest. */
  #judge(event: AttemptEvent, peer: Peer): AttemptVerdict {
    const verdict = judgeAttempt(event, {
      // Only a GET can be upgraded to WebSocket (ws refuses others), and it has no body.
      method: this.#req.method ?? 'GET',
      bodyReplayable: true,
      tried: this.#tried.length,
      retries: this.#ctx.retries,
      peers: this.#ctx.balancer.peers.length,
      resent: false,
    })
    if (verdict.blame) this.#ctx.balancer.report(peer, false)
    if (verdict.credit) this.#ctx.balancer.report(peer, true)
    return verdict
  }

  /** A failed attempt: another peer, or the verdict's answer. Every connection here is fresh: no resend. */
  #apply(verdict: AttemptVerdict): void {
    if (verdict.next === 'retry-other') {
      const next = this.#ctx.balancer.decide(this.#req.headers.cookie, { exclude: this.#tried, header: carriedPin(this.#ctx.balancer, this.#req.headers) })
      if (next.peer !== null) {
        this.#attempt(next, next.peer)
        return
      }
      this.#decision = next
    }
    this.#error = verdict.error ?? 'proxy'
    this.#answer(verdict.status ?? 502, gatewayCode(verdict.error))
  }

  /** The proxy's own answer on the raw connection, without the balancer's cookie; 499: nobody reads. */
  #answer(status: number, code: GatewayErrorCode): void {
    this.#status = status
    if (status === 499) {
      this.#socket.destroy()
      return
    }
    const error = STATUS_CODES[status] ?? 'Error'
    const body = JSON.stringify({ statusCode: status, code, error, message: new StickyGatewayError(502, code).message })
    writeAndClose(this.#socket, status, this.#ownHeaders({ 'Content-Type': 'application/json; charset=utf-8' }), Buffer.from(body))
  }

  /** Relays the peer's non-101 answer, with the balancer's cookie, on a connection that then closes. */
  #relayAnswer(response: IncomingMessage, peer: Peer, release: () => void): void {
    const status = response.statusCode ?? 502
    this.#status = status
    const headers = stripHopByHop(response.headers as HeaderMap)
    if (this.#decision !== undefined) addPin(headers, this.#decision, this.#ctx.balancer)
    // The client sees one id, the one the proxy logged, in place of a peer's copy.
    const field = this.requestIdField
    if (field !== undefined) headers[field[0].toLowerCase()] = field[1]
    let head = `HTTP/1.1 ${status} ${response.statusMessage ?? STATUS_CODES[status] ?? ''}\r\n`
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue
      for (const one of Array.isArray(value) ? value : [value]) head += `${name}: ${one}\r\n`
    }
    // Without Transfer-Encoding (hop-by-hop) a body lacking Content-Length ends with the connection.
    head += 'Connection: close\r\n\r\n'
    const socket = this.#socket
    if (!socket.writable) {
      release()
      return
    }
    socket.write(head)
    let complete = false
    response.once('end', () => (complete = true))
    response.once('close', () => {
      release()
      if (complete) {
        socket.end(() => socket.destroy())
        return
      }
      // The peer cut its answer short: judged like a cut HTTP response, and the client's cut too.
      if (!this.#clientGone) {
        const verdict = this.#judge('peer-cut-response', peer)
        this.#error = verdict.error ?? 'upstream-aborted'
      }
      socket.destroy()
    })
    response.on('error', () => undefined)
    response.pipe(socket, { end: false })
  }

  /** ws completed the client's upgrade: relay both ways until either side closes. */
  accepted(client: WebSocket): void {
    const upstream = this.#upstream
    if (upstream === undefined) {
      client.terminate()
      return
    }
    this.#client = client
    this.#status = 101
    relay(client, upstream)
    relay(upstream, client)
  }

  #clientClosed(): void {
    this.#clientGone = true
    const upstream = this.#upstream
    // An attempt in flight is abandoned (its error says client-gone: no blame); a tunnel's peer
    // side is closed by the relay, or here if the client's side never got to be a WebSocket.
    if (upstream !== undefined && this.#client === undefined) upstream.terminate()
    // Fastify's close waits for the peer's side of a tunnel too.
    if (upstream !== undefined && this.#client !== undefined && upstream.readyState !== WebSocket.CLOSED) upstream.once('close', this.#forget)
    else this.#forget()
    this.#notify()
  }

  /** Fastify is closing: a `1001 Going Away` to both ends of a tunnel, a 502 to an upgrade in flight. */
  shutdown(): Promise<void> {
    const client = this.#client
    const upstream = this.#upstream
    if (client === undefined || upstream === undefined) {
      upstream?.terminate()
      if (this.#status === 0 && !this.#socket.destroyed) {
        this.#error = 'proxy'
        this.#answer(502, 'STICKY_PROXY_FAILED')
      }
      return closed(this.#socket)
    }
    for (const side of [client, upstream]) {
      if (side.readyState === WebSocket.OPEN) side.close(1001, 'proxy shutting down')
    }
    return Promise.all([wsClosed(client), wsClosed(upstream)]).then(() => undefined)
  }

  #notify(): void {
    const onResponse = this.#ctx.onResponse
    const decision = this.#decision
    if (onResponse === undefined || decision === undefined) return
    const event: FastifyUpgradeEvent = {
      request: this.#req,
      method: this.#req.method ?? 'GET',
      path: pathOf(originForm(this.#req.url ?? '/')),
      decision,
      outcome: decision.outcome,
      status: this.#status === 0 ? 499 : this.#status,
      peer: this.#tried[this.#tried.length - 1] ?? null,
      attempts: this.#tried.length,
      durationMs: performance.now() - this.#started,
      error: this.#status === 0 ? (this.#error ?? 'client-aborted') : this.#error,
      upgrade: true,
      requestId: this.#requestId,
    }
    callHook(onResponse, event, (thrown) => this.#ctx.onError(thrown, this.#req))
  }

  /** The peer's WebSocket URL: `ws:` for an http peer, `wss:` for https; a unix socket is reached by `createConnection`. */
  #url(peer: Peer): string {
    const url = originForm(this.#req.url ?? '/')
    const query = url.indexOf('?')
    const path = upstreamPath(url, this.#ctx.prefix, this.#ctx.rewritePrefix) + (query === -1 ? '' : url.slice(query))
    const origin = peer.target.origin.replace(/^http/, 'ws')
    return origin + path
  }

  /** The client's request fields as they go to the peer: end-to-end only, `X-Forwarded-*` by the core's rules. */
  #headers(peer: Peer): Record<string, string> {
    const req = this.#req
    const headers = stripForUpstream(req.headers as HeaderMap, HANDSHAKE_FIELDS)
    const encrypted = (req.socket as Socket & { encrypted?: boolean }).encrypted === true
    writeForwarding(
      headers,
      peer,
      { address: req.socket.remoteAddress, protocol: encrypted ? 'https' : 'http', host: req.headers.host },
      this.#ctx.forwarding,
      this.#trusted,
      this.#requestId,
    )
    const out: Record<string, string> = {}
    // Node folds repeated request fields into one value already (RFC 9110 section 5.3), `Cookie` with `; `.
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : String(value)
    }
    return out
  }
}

/** The subprotocols the client offered, in its order (ws already refused a malformed list). */
function offeredProtocols(req: IncomingMessage): string[] {
  const field = req.headers['sec-websocket-protocol']
  if (field === undefined) return []
  return field
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}

/** Writes a whole response and closes the connection once it is flushed (no keep-alive after an upgrade). */
function writeAndClose(socket: Duplex, status: number, headers: Record<string, string>, body: Buffer): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy()
    return
  }
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\n`
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`
  head += `Content-Length: ${body.length}\r\n\r\n`
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]), () => socket.destroy())
}

/**
 * Relays `from`'s messages to `to`, whole (ws reassembles fragments) and of the same kind (text or
 * binary), and `from`'s close to `to`. While `to` has more than {@link PAUSE_ABOVE} bytes queued,
 * `from` is not read.
 */
function relay(from: WebSocket, to: WebSocket): void {
  let paused = false
  const drained = (): void => {
    if (paused && to.bufferedAmount < RESUME_BELOW) {
      paused = false
      from.resume()
    }
  }
  from.on('message', (data: RawData, isBinary: boolean) => {
    if (to.readyState !== WebSocket.OPEN) return
    // The callback runs once the frame is flushed to the socket: the moment to look at the queue again.
    to.send(data, { binary: isBinary }, drained)
    if (!paused && to.bufferedAmount > PAUSE_ABOVE) {
      paused = true
      from.pause()
    }
  })
  from.on('close', (code: number, reason: Buffer) => {
    if (to.readyState === WebSocket.OPEN) to.close(sendableCloseCode(code), reason)
    else if (to.readyState === WebSocket.CONNECTING) to.terminate()
  })
  // ws closes a side after its error (1006 to the other end, as 1011); the error itself is nobody's to report.
  from.on('error', () => undefined)
}

/** Resolves when `ws` closed, cutting it if its closing handshake outlasts the grace period. */
function wsClosed(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS)
    ws.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

/** Resolves when `socket` closed, destroying it if it outlasts the grace period. */
function closed(socket: Duplex): Promise<void> {
  if (socket.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}
