import type { ClientRequest, IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import type { Peer } from 'sticky-core'
import { attemptsAllowed, upstreamHeaders, type ProxyContext } from './context'
import { isConnectionReset, isIdempotent, isProtocolError, UpstreamTimeoutError } from './failure'
import { hasBody, requestDefect, type RequestDefect } from './framing'
import { endToEndHeaders } from './hop-by-hop'
import type { ProxyError } from './options'
import { rawError, rawHead } from './respond'
import { originForm, requestUpstream } from './upstream'

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
 * piped both ways until either side closes.
 */
export function forwardUpgrade(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const started = performance.now()
  const method = req.method ?? 'GET'
  const cookieHeader = req.headers.cookie
  const maxAttempts = attemptsAllowed(ctx)
  const path = originForm(req.url)
  const protocol = req.headers.upgrade ?? ''
  const tried: Peer[] = []
  let decision = ctx.balancer.decide(cookieHeader)
  let upstream: ClientRequest | undefined
  let tunnel: Duplex | undefined
  let error: ProxyError | undefined
  let status = 0
  let finished = false
  let staleResent = false

  const finish = (): void => {
    if (finished) return
    finished = true
    ctx.onResponse?.({
      req,
      decision,
      status: status === 0 ? 499 : status,
      peer: tried.at(-1) ?? null,
      attempts: tried.length,
      durationMs: performance.now() - started,
      error,
      upgrade: true,
    })
  }

  socket.on('error', () => socket.destroy())
  socket.once('close', (hadError: boolean) => {
    if (status === 0) error ??= 'client-aborted'
    upstream?.destroy()
    if (tunnel !== undefined) closeAfterFlush(tunnel, hadError)
    finish()
  })

  const refuse = (code: 400 | 501 | 502 | 504, kind: ProxyError, reason: string): void => {
    error = kind
    if (socket.destroyed) return
    status = code
    socket.end(rawError(code, reason))
  }

  const attempt = (): void => {
    const peer = decision.peer
    if (peer === null) return refuse(502, 'unavailable', 'no peer available')
    tried.push(peer)
    let connected = false
    let timedOut = false
    let up: ClientRequest
    try {
      const headers = upstreamHeaders(ctx, req, peer, [])
      headers.push('Connection', 'Upgrade', 'Upgrade', protocol)
      up = requestUpstream(peer, { method, path, headers, agent: ctx.agents.get(peer), timeout: ctx.options.timeout })
    } catch {
      return refuse(502, 'connect', 'cannot reach the peer')
    }
    upstream = up
    up.once('socket', (s: Socket) => {
      if (!s.connecting) connected = true
      else s.once('connect', () => (connected = true))
    })
    up.on('timeout', () => {
      timedOut = true
      up.destroy(new UpstreamTimeoutError(ctx.options.timeout))
    })

    up.once('upgrade', (upRes: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
      ctx.balancer.report(peer, true)
      upstream = undefined
      if (socket.destroyed) return void upSocket.destroy()
      tunnel = upSocket
      // An open tunnel may idle legitimately (WebSocket); proxy.timeout governs the handshake only.
      upSocket.setTimeout(0)
      status = upRes.statusCode ?? 101
      const headers = endToEndHeaders(upRes.rawHeaders)
      headers.push('Connection', 'Upgrade', 'Upgrade', upRes.headers.upgrade ?? protocol)
      if (decision.setCookie !== null) headers.push('Set-Cookie', decision.setCookie)
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
      ctx.balancer.report(peer, true)
      if (socket.destroyed) return void upRes.resume()
      status = upRes.statusCode ?? 502
      const headers = endToEndHeaders(upRes.rawHeaders)
      if (decision.setCookie !== null) headers.push('Set-Cookie', decision.setCookie)
      headers.push('Connection', 'close')
      socket.write(rawHead(status, upRes.statusMessage, headers))
      upRes.on('error', () => socket.destroy())
      upRes.once('close', () => {
        if (!upRes.complete) {
          error ??= 'upstream-aborted'
          socket.destroy()
        }
      })
      upRes.pipe(socket)
    })

    up.on('error', (cause: unknown) => {
      if (socket.destroyed || status !== 0) return
      if (up.reusedSocket && !timedOut && !staleResent && isConnectionReset(cause)) {
        // A kept-alive connection closed by the peer as it was reused: no failure of the peer
        // (nginx counts none for cached connections); the handshake goes again on a fresh one.
        staleResent = true
        ctx.agents.discardIdle(peer)
        tried.pop()
        return attempt()
      }
      ctx.balancer.report(peer, false)
      if (timedOut && connected) return refuse(504, 'timeout', 'the peer did not answer in time')
      if (isProtocolError(cause)) return refuse(502, 'protocol', 'invalid response from the peer')
      if (isIdempotent(method) && tried.length < maxAttempts) {
        decision = ctx.balancer.decide(cookieHeader, { exclude: tried })
        return attempt()
      }
      if (timedOut) return refuse(504, 'timeout', 'the peer did not accept the connection in time')
      refuse(502, 'connect', 'cannot reach the peer')
    })
    up.end()
  }

  const defect = requestDefect(req.rawHeaders) ?? upgradeDefect(req)
  if (defect !== undefined) return refuse(defect.status, 'rejected', defect.reason)
  attempt()
}

/**
 * An upgrade request with a body is refused: the body arrives with the tunnel's first bytes, so a
 * peer would wait for it forever and the proxy would blame the peer for the silence.
 */
function upgradeDefect(req: IncomingMessage): RequestDefect | undefined {
  return hasBody(req.headers) ? { status: 400, reason: 'an upgrade request cannot carry a body' } : undefined
}
