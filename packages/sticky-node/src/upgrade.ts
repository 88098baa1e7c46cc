import type { ClientRequest, IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import type { Peer } from 'sticky-core'
import { requestIdOf, upstreamHeaders, withRequestId, type ProxyContext } from './context'
import { Exchange } from './exchange'
import { requestDefect } from './framing'
import { endToEndHeaders } from './hop-by-hop'
import { appendPin } from './pin-headers'
import { notifyResponse } from './notify'
import { errorReason, rawError, rawHead } from './respond'
import { originForm, requestUpstream } from './upstream'

/** Nothing of the client's fields beyond the forwarding ones: one array, so the names built from it are cached. */
const UPGRADE_DROP: readonly string[] = []

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
  const requestId = requestIdOf(ctx, req)

  const exchange = new Exchange(ctx, req, {
    open(peer: Peer): ClientRequest {
      const headers = upstreamHeaders(ctx, req, peer, UPGRADE_DROP, requestId)
      headers.push('Connection', 'Upgrade', 'Upgrade', protocol)
      const up = requestUpstream(peer, { method: req.method ?? 'GET', path, headers, agent: ctx.agents.get(peer), timeout: ctx.options.timeout })
      wire(up, peer)
      up.end()
      return up
    },
    connected: undefined,
    // An upgrade request never has a body (see `upgradeDefect`).
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
      exchange.settle(peer, 'peer-answered')
      tunnel = upSocket
      // An open tunnel may idle legitimately (WebSocket); proxy.timeout governs the handshake only.
      upSocket.setTimeout(0)
      status = upRes.statusCode ?? 101
      const headers = withRequestId(ctx, appendPin(endToEndHeaders(upRes.rawHeaders), exchange.decision, ctx.balancer), requestId)
      headers.push('Connection', 'Upgrade', 'Upgrade', upRes.headers.upgrade ?? protocol)
      socket.write(rawHead(status, upRes.statusMessage, headers))
      if (upHead.length > 0) socket.write(upHead)
      if (head.length > 0) upSocket.write(head)
      upSocket.on('error', () => upSocket.destroy())
      upSocket.once('close', (hadError: boolean) => closeAfterFlush(socket, hadError))
      upSocket.pipe(socket)
      socket.pipe(upSocket)
    })

    // The peer declined the upgrade: relay its answer as a normal response, then close.
    up.once('response', (upRes: IncomingMessage) => {
      if (up !== exchange.upstream || !exchange.live) return void upRes.resume()
      if (socket.destroyed) {
        exchange.abandon()
        return void upRes.resume()
      }
      exchange.settle(peer, 'peer-answered')
      status = upRes.statusCode ?? 502
      const headers = withRequestId(ctx, appendPin(endToEndHeaders(upRes.rawHeaders), exchange.decision, ctx.balancer), requestId)
      headers.push('Connection', 'close')
      socket.write(rawHead(status, upRes.statusMessage, headers))
      upRes.on('error', () => undefined)
      upRes.once('close', () => {
        if (!exchange.relayEnded(peer, upRes.complete)) socket.destroy()
      })
      upRes.pipe(socket)
    })
  }

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
