import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import { connect } from 'node:net'
import type { CookieJar } from './jar'

/** One request of a simulated browser. */
export interface Exchange {
  method?: string
  /** Path and query. @default '/' */
  path?: string
  headers?: OutgoingHttpHeaders
  /**
   * A buffer is sent with `Content-Length`; a function yields the chunks of a body of unknown
   * length, sent chunked with backpressure.
   */
  body?: Buffer | (() => AsyncIterable<Uint8Array>)
  /** Cookies to send, and where to store the answer's `Set-Cookie`. */
  jar?: CookieJar
  /** Send `Expect: 100-continue` and hold the body until the interim 100 arrives. */
  expectContinue?: boolean
  /** Fails the request (not the adapter's speed) when nothing completes in time. @default 15000 */
  guardMs?: number
}

/** What the simulated browser saw. */
export interface Answer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly rawHeaders: readonly string[]
  /** Every `Set-Cookie` line, as sent (never merged). */
  readonly setCookies: readonly string[]
  /** The `x-backend` header: which backend answered, if any. */
  readonly backend: string | undefined
  readonly body: Buffer
  /** Whether an interim 100 Continue arrived. */
  readonly continued: boolean
}

/**
 * Sends one request with `node:http` and no agent (one connection, closed afterwards), so that no
 * socket outlives the exchange.
 */
export function send(baseUrl: string, exchange: Exchange = {}): Promise<Answer> {
  const url = new URL(exchange.path ?? '/', baseUrl)
  const headers: OutgoingHttpHeaders = { ...exchange.headers }
  const cookie = exchange.jar?.header()
  if (cookie !== undefined && headers['cookie'] === undefined) headers['cookie'] = cookie
  const body = exchange.body
  if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length)
  if (exchange.expectContinue === true) headers['expect'] = '100-continue'

  return new Promise<Answer>((resolve, reject) => {
    let continued = false
    const guardMs = exchange.guardMs ?? 15_000
    const req = httpRequest(url, { method: exchange.method ?? 'GET', headers, agent: false })
    const guard = setTimeout(() => {
      req.destroy(new Error(`no complete answer to ${exchange.method ?? 'GET'} ${url.pathname} in ${guardMs} ms`))
    }, guardMs)
    const fail = (error: Error): void => {
      clearTimeout(guard)
      reject(error)
    }
    req.on('error', fail)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', fail)
      res.on('aborted', () => fail(new Error('response aborted')))
      res.on('end', () => {
        clearTimeout(guard)
        const setCookies = res.headers['set-cookie'] ?? []
        exchange.jar?.store(setCookies)
        const backend = res.headers['x-backend']
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          setCookies,
          backend: typeof backend === 'string' ? backend : undefined,
          body: Buffer.concat(chunks),
          continued,
        })
      })
    })
    const writeBody = (): void => {
      if (body === undefined) req.end()
      else if (Buffer.isBuffer(body)) req.end(body)
      else void pump(body(), req).catch((error: Error) => req.destroy(error))
    }
    if (exchange.expectContinue === true) {
      req.flushHeaders()
      req.once('continue', () => {
        continued = true
        writeBody()
      })
    } else {
      writeBody()
    }
  })
}

async function pump(chunks: AsyncIterable<Uint8Array>, req: ClientRequest): Promise<void> {
  for await (const chunk of chunks) {
    if (req.destroyed) return
    if (!req.write(chunk)) await new Promise<void>((resolve) => {
      const done = (): void => {
        req.off('drain', done)
        req.off('close', done)
        resolve()
      }
      req.on('drain', done)
      req.on('close', done)
    })
  }
  req.end()
}

/** A response read off a raw socket. */
export interface RawAnswer {
  /** 0 when the connection closed without a status line. */
  readonly status: number
  /** The response head as text, for header checks. */
  readonly head: string
  /** The `x-backend` header, if any. */
  readonly backend: string | undefined
}

/**
 * Writes `bytes` on a fresh TCP connection and reads until the server closes it: for requests a
 * well-behaved client library refuses to send (malformed or oversized headers). The request
 * should carry `Connection: close`; the socket is not half-closed, because a server that sees the
 * client's end early may abandon the request it is still answering.
 */
export function sendRaw(baseUrl: string, bytes: Buffer | string, guardMs = 15_000): Promise<RawAnswer> {
  const url = new URL(baseUrl)
  return new Promise<RawAnswer>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname)
    const chunks: Buffer[] = []
    const guard = setTimeout(() => socket.destroy(new Error(`no answer in ${guardMs} ms`)), guardMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A server may reset the connection after answering a bad request; what arrived still counts.
      if (error.code === 'ECONNRESET' && chunks.length > 0) return
      clearTimeout(guard)
      reject(error)
    })
    socket.on('close', () => {
      clearTimeout(guard)
      const text = Buffer.concat(chunks).toString('latin1')
      const head = text.split('\r\n\r\n')[0] ?? ''
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)
      const backend = /^x-backend:\s*(\S+)/im.exec(head)?.[1]
      resolve({ status, head, backend })
    })
    socket.write(bytes)
  })
}
