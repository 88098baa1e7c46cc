import type { ClientRequest, IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Dispatcher, Pool } from 'undici'
import type { AgentPool } from './agents'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import { isIdempotent, type Peer } from 'sticky-core'
import { clientHeaders, requestIdOf, responseHeaders, toPeer, trustsClient, type ProxyContext } from './context'
import { Exchange, type Upstream } from './exchange'
import { PooledAttempt, poolable } from './pooled-attempt'
import { requestDefect } from './framing'
import { notifyResponse } from './notify'
import { errorReason, rawError, rawHead } from './respond'
import { latin1Fields, originForm, requestUpstream } from './upstream'

/**
 * Ends `stream` once what was written to it is flushed; a stream that had an error is destroyed
 * at once. Either way nothing is left open.
 */
function closeAfterFlush(stream: Duplex, hadError: boolean): void {
  if (stream.destroyed) return
  if (hadError) {
    stream.destroy()
    return
  }
  stream.end(() => stream.destroy())
}

/**
 * Proxies an HTTP Upgrade (WebSocket or any other protocol) to the peer the balancer picks for
 * the request's cookie: the upgrade request goes out with its `Connection: Upgrade` and
 * `Upgrade`, the peer's 101 comes back with the balancer's `Set-Cookie` added, and then bytes are
 * piped both ways until either side closes. Failures follow sticky-core's attempt policy, through
 * the same {@link Exchange} as plain requests.
 */
export function forwardUpgrade(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const path = originForm(req.url)
  const protocol = req.headers.upgrade ?? ''
  let tunnel: Duplex | undefined
  let status = 0
  let rejection = ''
  const trusted = trustsClient(ctx, req)
  const requestId = requestIdOf(ctx, req, trusted)
  let fields: string[] | undefined
  // An upgrade has no body (`requestDefect` refuses one): the pool takes it when its method may be sent again.
  const pooled = protocol !== '' && poolable(isIdempotent(req.method ?? 'GET'), false, path)

  /** The peer switched protocols: the tunnel opens, both ways. */
  const tunnelled = (
    peer: Peer,
    upSocket: Duplex,
    code: number,
    message: string | undefined,
    rawHeaders: readonly string[],
    upgrade: string | undefined,
    upHead: Buffer,
  ): void => {
    exchange.settle(peer, 'peer-answered')
    tunnel = upSocket
    status = code
    const headers = responseHeaders(ctx, rawHeaders, exchange.decision, requestId, code)
    headers.push('Connection', 'Upgrade', 'Upgrade', upgrade ?? protocol)
    socket.write(rawHead(status, message, headers))
    if (upHead.length > 0) socket.write(upHead)
    if (head.length > 0) upSocket.write(head)
    upSocket.on('error', () => upSocket.destroy())
    upSocket.once('close', (hadError: boolean) => closeAfterFlush(socket, hadError))
    upSocket.pipe(socket)
    socket.pipe(upSocket)
  }

  /** The peer declined the upgrade: its answer is relayed as a normal response, then the connection closes. */
  const declined = (peer: Peer, code: number, message: string | undefined, rawHeaders: readonly string[]): void => {
    exchange.settle(peer, 'peer-answered')
    status = code
    const headers = responseHeaders(ctx, rawHeaders, exchange.decision, requestId, code)
    headers.push('Connection', 'close')
    socket.write(rawHead(status, message, headers))
  }

  const exchange = new Exchange(ctx, req, {
    open(peer: Peer): Upstream {
      const pool = pooled ? ctx.agents.pool(peer) : undefined
      fields ??= clientHeaders(ctx, req, ctx.names.upgrade, requestId, trusted)
      const headers = toPeer(fields, peer)
      if (pool !== undefined) {
        const timeout = ctx.options.timeout
        const options = {
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          path,
          headers,
          upgrade: protocol,
          headersTimeout: timeout,
          bodyTimeout: timeout,
        }
        return new PooledUpgrade(pooledSide, exchange, ctx.agents, peer, pool, options)
      }
      headers.push('Connection', 'Upgrade', 'Upgrade', protocol)
      const up = requestUpstream(peer, { method: req.method ?? 'GET', path, headers, agent: ctx.agents.get(peer), timeout: ctx.options.timeout })
      wire(up, peer)
      up.end()
      return up
    },
    connected: undefined,
    // An upgrade request never has a body (`requestDefect` refuses one).
    bodyReplayable: () => true,
    answer(code: number, error): void {
      if (socket.destroyed) return
      status = code
      socket.end(rawError(code, error === 'rejected' ? rejection : errorReason(error)))
    },
  })

  const wire = (up: ClientRequest, peer: Peer): void => {
    up.once('upgrade', (upRes: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
      if (up !== exchange.upstream || !exchange.live) return void upSocket.destroy()
      if (socket.destroyed) {
        exchange.abandon()
        return void upSocket.destroy()
      }
      // An open tunnel may idle legitimately (WebSocket); proxy.timeout governs the handshake only.
      upSocket.setTimeout(0)
      tunnelled(peer, upSocket, upRes.statusCode ?? 101, upRes.statusMessage, upRes.rawHeaders, upRes.headers.upgrade, upHead)
    })

    // The peer declined the upgrade: relay its answer as a normal response, then close.
    up.once('response', (upRes: IncomingMessage) => {
      if (up !== exchange.upstream || !exchange.live) return void upRes.resume()
      if (socket.destroyed) {
        exchange.abandon()
        return void upRes.resume()
      }
      declined(peer, upRes.statusCode ?? 502, upRes.statusMessage, upRes.rawHeaders)
      upRes.on('error', () => undefined)
      upRes.once('close', () => {
        if (!exchange.relayEnded(peer, upRes.complete)) socket.destroy()
      })
      upRes.pipe(socket)
    })
  }

  const pooledSide: UpgradeSide = { socket, tunnelled, declined }

  socket.on('error', () => socket.destroy())
  socket.once('close', (hadError: boolean) => {
    if (status === 0) exchange.abandon()
    if (tunnel !== undefined) closeAfterFlush(tunnel, hadError)
    notifyResponse(ctx, req, {
      decision: exchange.decision,
      status: status === 0 ? 499 : status,
      peer: exchange.peer,
      attempts: exchange.tried.length,
      durationMs: performance.now() - exchange.started,
      error: exchange.error,
      upgrade: true,
      requestId,
    })
  })

  const defect = requestDefect(req.rawHeaders, { upgrade: true })
  if (defect !== undefined) {
    rejection = defect.reason
    exchange.answer(defect.status, 'rejected')
    return
  }
  exchange.attempt()
}

/** What the attempts of one pooled upgrade share. */
interface UpgradeSide {
  readonly socket: Duplex
  tunnelled(
    peer: Peer,
    upSocket: Duplex,
    status: number,
    message: string | undefined,
    rawHeaders: readonly string[],
    upgrade: string | undefined,
    upHead: Buffer,
  ): void
  declined(peer: Peer, status: number, message: string | undefined, rawHeaders: readonly string[]): void
}

const NO_BYTES = Buffer.alloc(0)

/**
 * One upgrade attempt through the peer's undici `Pool` (so that it may take a kept-alive
 * connection, and a stale one is resent like a request's): undici sends `Connection: upgrade` and
 * `Upgrade`, hands over the socket on a 101, or relays a declining answer as a normal response.
 */
class PooledUpgrade extends PooledAttempt {
  readonly #side: UpgradeSide

  constructor(side: UpgradeSide, exchange: Exchange, agents: AgentPool, peer: Peer, pool: Pool, options: Dispatcher.DispatchOptions) {
    super(exchange, agents, peer, pool, options)
    this.#side = side
  }

  onUpgrade(status: number, raw: (Buffer | string)[] | null, upSocket: Duplex): void {
    if (this.done) return void upSocket.destroy()
    this.finish()
    const exchange = this.exchange
    const socket = this.#side.socket
    if (exchange.upstream !== this || !exchange.live) return void upSocket.destroy()
    if (socket.destroyed) {
      exchange.abandon()
      return void upSocket.destroy()
    }
    const fields = latin1Fields(raw ?? [])
    let upgrade: string | undefined
    for (let i = 0; i + 1 < fields.length; i += 2) if ((fields[i] as string).toLowerCase() === 'upgrade') upgrade = fields[i + 1]
    this.#side.tunnelled(this.peer, upSocket, status, undefined, fields, upgrade, NO_BYTES)
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (this.done || status < 200) return !this.done
    if (this.#side.socket.destroyed) {
      this.exchange.abandon()
      return false
    }
    this.relayingBody(resume)
    this.#side.declined(this.peer, status, statusText, latin1Fields(raw))
    return true
  }

  onData(chunk: Buffer): boolean {
    return this.relayChunk(this.#side.socket, chunk)
  }

  onComplete(): void {
    if (this.done) return
    this.finish()
    const socket = this.#side.socket
    if (!socket.destroyed) socket.end()
  }

  protected cutClient(): void {
    this.#side.socket.destroy()
  }
}
