import type { ClientRequest, IncomingMessage, InformationEvent, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Peer } from 'sticky-core'
import { attemptsAllowed, upstreamHeaders, type ProxyContext } from './context'
import { isConnectionReset, isIdempotent, isProtocolError, UpstreamTimeoutError } from './failure'
import { hasBody, requestDefect, upstreamFraming } from './framing'
import { endToEndHeaders } from './hop-by-hop'
import type { ProxyError } from './options'
import { errorBody, errorHeaders, writeRawHead } from './respond'
import { originForm, requestUpstream } from './upstream'

/**
 * Proxies one request: asks the balancer, forwards to the peer it names, streams both bodies,
 * appends the balancer's `Set-Cookie`, and reports the outcome. Connection failures of idempotent
 * requests whose body was not touched yet are retried on the peers not tried so far.
 */
export function forwardRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  const started = performance.now()
  const method = req.method ?? 'GET'
  const cookieHeader = req.headers.cookie
  const withBody = hasBody(req.headers)
  const retryable = isIdempotent(method)
  const maxAttempts = attemptsAllowed(ctx)
  const path = originForm(req.url)
  const tried: Peer[] = []
  let decision = ctx.balancer.decide(cookieHeader)
  let upstream: ClientRequest | undefined
  let error: ProxyError | undefined
  let bodyTouched = false
  // Whether a byte of the body left the client's stream: then the request cannot be sent again.
  let bodySent = false
  let staleResent = false
  let clientGone = false
  let finished = false

  const finish = (): void => {
    if (finished) return
    finished = true
    ctx.onResponse?.({
      req,
      decision,
      status: res.headersSent ? res.statusCode : 499,
      peer: tried.at(-1) ?? null,
      attempts: tried.length,
      durationMs: performance.now() - started,
      error,
      upgrade: false,
    })
  }

  const leave = (): void => {
    if (clientGone) return
    clientGone = true
    upstream?.destroy()
  }

  res.once('close', () => {
    if (!res.writableFinished) {
      error ??= 'client-aborted'
      leave()
    }
    finish()
  })
  // An aborted upload errors the request stream; the response's 'close' does the rest.
  req.on('error', leave)

  const fail = (status: 400 | 501 | 502 | 504, kind: ProxyError, reason: string): void => {
    error = kind
    if (clientGone) return
    if (res.headersSent) {
      res.destroy()
      return
    }
    const body = errorBody(status, reason)
    const headers = errorHeaders(body)
    // An unread upload would otherwise be drained before the connection could be reused; after a
    // malformed request the connection is not trusted for another one.
    if ((withBody && !req.complete) || kind === 'rejected') headers['connection'] = 'close'
    res.writeHead(status, headers).end(body)
  }

  const attempt = (): void => {
    const peer = decision.peer
    if (peer === null) return fail(502, 'unavailable', 'no peer available')
    tried.push(peer)
    let connected = false
    let timedOut = false
    let responded = false
    let up: ClientRequest
    try {
      // Drop `Expect`: the 100 Continue was already answered to the client (by node:http, or by
      // the application's 'checkContinue' handler), and the body is streamed right away.
      const headers = upstreamHeaders(ctx, req, peer, ['expect', 'content-length'])
      headers.push(...upstreamFraming(req.headers))
      up = requestUpstream(peer, { method, path, headers, agent: ctx.agents.get(peer), timeout: ctx.options.timeout })
    } catch {
      return fail(502, 'connect', 'cannot reach the peer')
    }
    upstream = up
    let upRes: IncomingMessage | undefined
    let settled = false

    // `proxy.timeout` measures the peer's silence, not the client's: while the proxy waits for
    // upload bytes from the client, or for a slow client to read the response, the clock stops.
    const arm = (): void => {
      const socket = up.socket
      if (settled || socket === null) return
      const waitingOnClient = (bodyTouched && !req.readableEnded && !req.isPaused()) || upRes?.isPaused() === true
      socket.setTimeout(waitingOnClient ? 0 : ctx.options.timeout)
    }
    up.once('close', () => (settled = true))

    const sendBody = (): void => {
      connected = true
      if (clientGone || up.destroyed) return
      if (!withBody) return
      if (!bodyTouched) req.once('data', () => (bodySent = true))
      bodyTouched = true
      req.on('pause', arm)
      req.on('resume', arm)
      req.once('end', arm)
      req.pipe(up)
    }
    up.once('socket', (socket: Socket) => {
      if (!socket.connecting) return sendBody()
      socket.once('encrypted' in socket ? 'secureConnect' : 'connect', sendBody)
    })
    if (!withBody) up.end()

    up.on('timeout', () => {
      timedOut = true
      up.destroy(new UpstreamTimeoutError(ctx.options.timeout))
    })
    up.on('information', (info: InformationEvent) => relayInformation(res, info))

    up.once('response', (response: IncomingMessage) => {
      upRes = response
      responded = true
      ctx.balancer.report(peer, true)
      if (clientGone) return void response.resume()
      const headers = endToEndHeaders(response.rawHeaders)
      if (decision.setCookie !== null) headers.push('Set-Cookie', decision.setCookie)
      try {
        writeRawHead(res, response.statusCode ?? 502, response.statusMessage, headers)
      } catch {
        up.destroy()
        return fail(502, 'protocol', 'invalid response from the peer')
      }
      response.on('error', () => undefined)
      response.once('close', () => {
        settled = true
        if (response.complete) return
        error ??= timedOut ? 'timeout' : 'upstream-aborted'
        res.destroy()
      })
      response.once('end', () => {
        settled = true
        const trailers = pairs(response.rawTrailers)
        if (trailers.length > 0) res.addTrailers(trailers)
        res.end()
      })
      response.on('pause', arm)
      response.on('resume', arm)
      response.pipe(res, { end: false })
    })

    up.on('error', (cause: unknown) => {
      // After the response head, the response's own 'close' decides: a complete response (say an
      // early 413 while the upload was still going) must still reach the client whole.
      if (clientGone || responded) return
      if (up.reusedSocket && !timedOut && isConnectionReset(cause)) {
        // A kept-alive connection the peer closed as it was reused says nothing about the peer's
        // health (nginx counts no failure for cached connections). The request most likely never
        // reached the application: it is sent once more, on a fresh connection to the same peer,
        // unless a byte of its body is gone.
        if (bodySent || staleResent) return fail(502, 'connect', 'the peer closed the connection')
        staleResent = true
        ctx.agents.discardIdle(peer)
        tried.pop()
        return attempt()
      }
      ctx.balancer.report(peer, false)
      if (timedOut && connected) return fail(504, 'timeout', 'the peer did not answer in time')
      if (isProtocolError(cause)) return fail(502, 'protocol', 'invalid response from the peer')
      if (retryable && !bodyTouched && tried.length < maxAttempts) {
        decision = ctx.balancer.decide(cookieHeader, { exclude: tried })
        return attempt()
      }
      if (timedOut) return fail(504, 'timeout', 'the peer did not accept the connection in time')
      fail(502, 'connect', 'cannot reach the peer')
    })
  }

  const defect = requestDefect(req.rawHeaders)
  if (defect !== undefined) return fail(defect.status, 'rejected', defect.reason)
  attempt()
}

/** Relays the interim responses a client can use: 102 Processing and 103 Early Hints. */
function relayInformation(res: ServerResponse, info: InformationEvent): void {
  if (res.headersSent) return
  if (info.statusCode === 102) return res.writeProcessing()
  const link = info.headers['link']
  if (info.statusCode === 103 && link !== undefined) {
    try {
      res.writeEarlyHints({ link })
    } catch {
      // A hint the client library rejects is dropped: hints are optional by definition.
    }
  }
}

function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] ?? '', raw[i + 1] ?? ''])
  return out
}
