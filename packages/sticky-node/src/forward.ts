import { ClientRequest, type IncomingMessage, type InformationEvent, type ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import { answerHasContent, contentLength, isIdempotent, relayableField, relayableStatus, uploadUnderWay, type Peer } from 'sticky-core'
import type { Dispatcher, Pool } from 'undici'
import { clientHeaders, requestIdOf, responseHeaders, toPeer, trustsClient, type ProxyContext } from './context'
import { Exchange, type Upstream } from './exchange'
import { PooledAttempt, poolable } from './pooled-attempt'
import { relayBody, type BodyRelay } from './body-relay'
import { requestDefect, requestFraming, requestHasBody } from './framing'
import { errorBody, errorHeaders, errorReason, reasonPhrase, standardReason, writeRawHead } from './respond'
import { notifyResponse } from './notify'
import { latin1Fields, originForm, requestUpstream } from './upstream'

/**
 * Proxies one request: asks the balancer, forwards to the peer it names, streams both bodies,
 * appends the balancer's `Set-Cookie`, and leaves every failure to sticky-core's attempt policy
 * (through {@link Exchange}): whom to blame, whether to retry, resend or answer.
 *
 * An HTTP/2 request of node:http2's compatibility API (`http2.createSecureServer({ allowHTTP1: true },
 * proxy)`) is proxied upstream as HTTP/1.1: its body framed there (chunked without `Content-Length`),
 * its `Cookie` crumbs joined, and the answer relayed without reason phrase and connection fields.
 */
export function forwardRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  const withBody = requestHasBody(req)
  // HTTP/2 has no reason phrase (RFC 9113 section 8.3.2): node:http2's compatibility layer warns on one.
  const http2 = req.httpVersionMajor >= 2
  const trusted = trustsClient(ctx, req)
  const requestId = requestIdOf(ctx, req, trusted)
  const path = originForm(req.url)
  // Every attempt sends the same fields but `Host`: built at the first attempt, once.
  let fields: string[] | undefined
  // Whether a byte of the body left the client's stream: then the request cannot be sent again.
  let bodyLeft = false
  // How much of it was taken from the client, against what it declared: whether an upload is under way.
  const taken = { bytes: 0 }
  const declared = withBody ? contentLength(req.headers['content-length']) : undefined
  let watched = false
  let piped: BodyRelay | undefined
  let upRes: IncomingMessage | undefined
  let rejection = ''
  let side: ClientSide | undefined
  const pooled = poolable(isIdempotent(req.method ?? 'GET'), withBody, path)

  const exchange = new Exchange(ctx, req, {
    open(peer: Peer): Upstream {
      piped?.stop()
      piped = undefined
      upRes = undefined
      const pool = pooled ? ctx.agents.pool(peer) : undefined
      fields ??= clientHeaders(ctx, req, ctx.names.request, requestId, trusted)
      const headers = toPeer(fields, peer)
      if (pool !== undefined) {
        side ??= { ctx, res, http2, requestId, method: req.method ?? 'GET' }
        const timeout = ctx.options.timeout
        const options = { method: (req.method ?? 'GET') as Dispatcher.HttpMethod, path, headers, headersTimeout: timeout, bodyTimeout: timeout }
        return new PooledRequest(side, exchange, peer, pool, options)
      }
      for (const field of requestFraming(req, withBody)) headers.push(field)
      const up = requestUpstream(peer, { method: req.method ?? 'GET', path, headers, agent: ctx.agents.get(peer), timeout: ctx.options.timeout })
      wire(up, peer)
      if (!withBody) up.end()
      return up
    },
    // Without a body nothing waits for the connection.
    connected: withBody
      ? (up: ClientRequest): void => {
          if (!watched) req.once('data', () => (bodyLeft = true))
          watched = true
          piped = relayBody(req, up, taken)
          arm()
        }
      : undefined,
    bodyReplayable: () => !withBody || !bodyLeft,
    uploading: withBody ? () => uploadUnderWay(taken.bytes, declared, req.readableEnded) : undefined,
    answer(status: number, error): void {
      if (res.headersSent) {
        res.destroy()
        return
      }
      const body = errorBody(status, error === 'rejected' ? rejection : errorReason(error))
      const headers = errorHeaders(body)
      if (requestId !== undefined && ctx.names.requestId !== undefined) headers[ctx.names.requestId] = requestId
      // An unread upload would otherwise be drained before the connection could be reused; after a
      // malformed request the connection is not trusted for another one. HTTP/2 has no such field
      // (RFC 9113 section 8.2.2): its stream ends alone.
      if (!http2 && ((withBody && !req.complete) || error === 'rejected')) headers['connection'] = 'close'
      try {
        if (http2) res.writeHead(status, headers).end(body)
        else res.writeHead(status, standardReason(status), headers).end(body)
      } catch {
        res.destroy()
      }
    },
  })

  // `proxy.timeout` measures the peer's silence, not the client's: while the proxy waits for
  // upload bytes from the client, or for a slow client to read the response, the clock stops. The
  // attempt's request arms it once; it is touched again only when one of those waits begins or ends.
  const arm = (): void => {
    const up = exchange.upstream
    // A pooled attempt's clock is undici's: it stops while the response is paused for the client.
    if (!(up instanceof ClientRequest)) return
    const socket = up.socket
    if (socket === null || socket === undefined || !exchange.live) return
    const waitingOnClient = (piped !== undefined && !req.readableEnded && !req.isPaused()) || upRes?.isPaused() === true
    socket.setTimeout(waitingOnClient ? 0 : ctx.options.timeout)
  }
  if (withBody) {
    req.on('pause', arm)
    req.on('resume', arm)
    req.once('end', arm)
  }

  const wire = (up: ClientRequest, peer: Peer): void => {
    up.on('information', (info: InformationEvent) => relayInformation(res, info))
    up.once('response', (response: IncomingMessage) => relay(up, peer, response))
  }

  const relay = (up: ClientRequest, peer: Peer, response: IncomingMessage): void => {
    if (up !== exchange.upstream || !exchange.live) return void response.resume()
    const status = response.statusCode ?? 0
    const headers = responseHeaders(ctx, response.rawHeaders, exchange.decision, requestId, response.statusCode ?? 0)
    if (!writeHead(res, status, http2 ? undefined : response.statusMessage, headers)) {
      response.resume()
      exchange.settle(peer, 'peer-protocol-error')
      return
    }
    // A head while the upload still goes out: the peer refuses the rest (a 413).
    const early = withBody && uploadUnderWay(taken.bytes, declared, req.readableEnded)
    exchange.settle(peer, early ? 'peer-answered-early' : 'peer-answered')
    upRes = response
    response.on('error', () => undefined)
    response.once('close', () => {
      if (!exchange.relayEnded(peer, response.complete, early)) res.destroy()
    })
    response.once('end', () => {
      const trailers = pairs(response.rawTrailers)
      // node:http2's compatibility response takes trailers as an object only.
      if (trailers.length > 0) res.addTrailers(http2 ? trailerObject(trailers) : trailers)
      res.end()
      // An early answer (a 413 while the upload still arrives): the peer wants no more of the
      // body, and the connection carries a half-sent request, so it is not reused. node:http
      // reads and discards the rest of the client's body before the client's connection is reused.
      if (withBody && !req.complete) {
        piped?.stop()
        up.destroy()
        // node:http reads and discards the rest once the response is over; a paused stream would stall it.
        req.resume()
      }
    })
    // Like `pipe` without its half-dozen listeners per response: backpressure pauses the peer's
    // response (and stops the clock) until the client's side drains.
    const drained = (): void => {
      response.resume()
      arm()
    }
    response.on('data', (chunk: Buffer) => {
      if (res.writableEnded || res.write(chunk)) return
      response.pause()
      arm()
      res.once('drain', drained)
    })
  }

  res.once('close', () => {
    // The proxy did not finish the response, so the client went away. `writableEnded` matters for
    // HTTP/2: node:http2 reports a stream the client reset (RST_STREAM) as `writableFinished`.
    if (!res.writableFinished || !res.writableEnded) exchange.abandon()
    if (ctx.onResponse === undefined) return
    notifyResponse(ctx, req, {
      decision: exchange.decision,
      status: res.headersSent ? res.statusCode : 499,
      peer: exchange.peer,
      attempts: exchange.tried.length,
      durationMs: performance.now() - exchange.started,
      error: exchange.error,
      upgrade: false,
      requestId,
    })
  })
  // An aborted upload errors the request stream; the response's 'close' does the rest.
  req.on('error', () => exchange.abandon())

  const defect = requestDefect(req.rawHeaders)
  if (defect !== undefined) {
    rejection = defect.reason
    exchange.answer(defect.status, 'rejected')
    return
  }
  exchange.attempt()
}

/** What the attempts of one pooled request share: the client's side of the exchange. */
interface ClientSide {
  readonly ctx: ProxyContext
  readonly res: ServerResponse
  readonly http2: boolean
  readonly requestId: string | undefined
  /** The request's method, for what of the answer is content (sticky-core's `answerHasContent`). */
  readonly method: string
}

/** One attempt of a request through the peer's undici `Pool`: relays the peer's answer to `res`. */
class PooledRequest extends PooledAttempt {
  readonly #side: ClientSide

  constructor(side: ClientSide, exchange: Exchange, peer: Peer, pool: Pool, options: Dispatcher.DispatchOptions) {
    super(exchange, side.ctx.agents, peer, pool, options)
    this.#side = side
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (this.done) return false
    const { ctx, res, requestId } = this.#side
    const exchange = this.exchange
    if (status < 200) {
      relayInterim(res, status, raw)
      return true
    }
    const headers = responseHeaders(ctx, latin1Fields(raw), exchange.decision, requestId, status)
    if (!writeHead(res, status, this.#side.http2 ? undefined : statusText, headers)) {
      this.destroy()
      exchange.settle(this.peer, 'peer-protocol-error')
      return false
    }
    this.relayingBody(resume)
    exchange.settle(this.peer, 'peer-answered')
    if (!answerHasContent(this.#side.method, status)) {
      // Complete at its head (a 204, a 304, an answer to HEAD): undici would still count a body its
      // Content-Length announces (a 304's describes the 200) and fail the connection for its absence.
      this.finish()
      res.end()
    }
    return true
  }

  onData(chunk: Buffer): boolean {
    return this.relayChunk(this.#side.res, chunk)
  }

  onComplete(trailers: (Buffer | string)[] | null): void {
    if (this.done) return
    this.finish()
    const { res, http2 } = this.#side
    const pairsOf = trailers === null || trailers.length === 0 ? [] : pairs(latin1Fields(trailers))
    // node:http2's compatibility response takes trailers as an object only.
    if (pairsOf.length > 0) res.addTrailers(http2 ? trailerObject(pairsOf) : pairsOf)
    res.end()
  }

  onUpgrade(): void {
    // Never asked for: this dispatch has no `upgrade` option (upgrades are PooledUpgrade's).
  }

  protected cutClient(): void {
    this.#side.res.destroy()
  }
}

/** {@link relayInformation} from undici's raw fields of an interim response. */
function relayInterim(res: ServerResponse, status: number, raw: readonly Buffer[]): void {
  if (status !== 102 && status !== 103) return
  let link: string | undefined
  if (status === 103) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if ((raw[i] as Buffer).toString('latin1').toLowerCase() !== 'link') continue
      const value = (raw[i + 1] as Buffer).toString('latin1')
      link = link === undefined ? value : `${link}, ${value}`
    }
  }
  relayInformation(res, { statusCode: status, headers: link === undefined ? {} : { link } } as unknown as InformationEvent)
}

/**
 * Writes the relayed head; `false` when the peer's status cannot be relayed (sticky-core's
 * `relayableStatus`: not a final status from 200 to 599). A reason phrase or field the client's side refuses is not worth a 502:
 * the phrase is replaced by the standard one, and the offending fields are left out.
 */
function writeHead(res: ServerResponse, status: number, message: string | undefined, headers: string[]): boolean {
  if (!relayableStatus(status)) return false
  const reason = message === undefined ? undefined : reasonPhrase(status, message)
  try {
    writeRawHead(res, status, reason, headers)
    return true
  } catch {
    if (reason !== undefined) res.statusMessage = reason
  }
  try {
    writeRawHead(res, status, reason, validFields(headers))
    return true
  } catch {
    return false
  }
}

function validFields(headers: readonly string[]): string[] {
  const kept: string[] = []
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i] ?? ''
    const value = headers[i + 1] ?? ''
    if (relayableField(name, value)) kept.push(name, value)
  }
  return kept
}

/** Relays the interim responses a client can use: 102 Processing and 103 Early Hints. */
function relayInformation(res: ServerResponse, info: InformationEvent): void {
  if (res.headersSent) return
  try {
    if (info.statusCode === 102) return res.writeProcessing()
    const link = info.headers['link']
    if (info.statusCode === 103 && link !== undefined) res.writeEarlyHints({ link })
  } catch {
    // Interim responses are optional by definition: one the client's side refuses is dropped.
  }
}

/** Trailer pairs as one object, repeated names as arrays (what HTTP/2 sends as repeated fields). */
function trailerObject(pairs: readonly [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase()
    const before = out[lower]
    out[lower] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value]
  }
  return out
}

function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] ?? '', raw[i + 1] ?? ''])
  return out
}
