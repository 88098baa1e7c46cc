import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http'
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
      collect(res, exchange.jar, fail, (answer) => {
        clearTimeout(guard)
        resolve({ ...answer, continued })
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

/** Reads a whole response into an {@link Answer} (without `continued`), storing its cookies in `jar`. */
function collect(res: IncomingMessage, jar: CookieJar | undefined, fail: (error: Error) => void, done: (answer: Omit<Answer, 'continued'>) => void): void {
  const chunks: Buffer[] = []
  res.on('data', (chunk: Buffer) => chunks.push(chunk))
  res.on('error', fail)
  res.on('aborted', () => fail(new Error('response aborted')))
  res.on('end', () => {
    const setCookies = res.headers['set-cookie'] ?? []
    jar?.store(setCookies)
    const backend = res.headers['x-backend']
    done({
      status: res.statusCode ?? 0,
      headers: res.headers,
      rawHeaders: res.rawHeaders,
      setCookies,
      backend: typeof backend === 'string' ? backend : undefined,
      body: Buffer.concat(chunks),
    })
  })
}

/** What {@link startUpload} sends: a request whose body the test writes piece by piece. */
export interface UploadExchange {
  /** @default 'POST' */
  method?: string
  path?: string
  headers?: OutgoingHttpHeaders
  jar?: CookieJar
  /** Announced as `Content-Length`; absent: the body is sent chunked. */
  contentLength?: number
  /** Fails the answer when it is not complete in time. @default 15000 */
  guardMs?: number
}

/** An upload in progress, driven by the test: a slow client, one that leaves, one that stops early. */
export interface Upload {
  /**
   * Writes `chunk` and waits until the connection takes more; `false` when the connection is gone or
   * the answer's head already arrived (a client stops sending then, RFC 9112 section 9.6).
   */
  write(chunk: Uint8Array): Promise<boolean>
  /** Ends the body. */
  end(): void
  /** Cuts the connection, as a client that leaves does. Safe to call more than once. */
  abort(): void
  /** Whether the head of the answer arrived. */
  readonly answered: boolean
  /** The whole answer; rejects when the connection fails before it is complete. */
  readonly answer: Promise<Answer>
}

/**
 * Opens a request whose head is sent at once and whose body the test writes, with `node:http` and
 * no agent. The caller must `abort()` it when done (a scope does), which releases the connection.
 */
export function startUpload(baseUrl: string, exchange: UploadExchange = {}): Upload {
  const url = new URL(exchange.path ?? '/', baseUrl)
  const headers: OutgoingHttpHeaders = { ...exchange.headers }
  const cookie = exchange.jar?.header()
  if (cookie !== undefined && headers['cookie'] === undefined) headers['cookie'] = cookie
  if (exchange.contentLength !== undefined) headers['content-length'] = String(exchange.contentLength)
  const method = exchange.method ?? 'POST'
  const req = httpRequest(url, { method, headers, agent: false })
  let answered = false
  const answer = new Promise<Answer>((resolve, reject) => {
    const guardMs = exchange.guardMs ?? 15_000
    const guard = setTimeout(() => {
      req.destroy(new Error(`no complete answer to ${method} ${url.pathname} in ${guardMs} ms`))
    }, guardMs)
    const fail = (error: Error): void => {
      clearTimeout(guard)
      reject(error)
    }
    req.on('error', fail)
    // After a head, the response's own 'aborted' or 'error' says whether it was cut.
    req.on('close', () => {
      if (!answered) fail(new Error(`the connection closed before an answer to ${method} ${url.pathname}`))
    })
    req.on('response', (res) => {
      answered = true
      collect(res, exchange.jar, fail, (whole) => {
        clearTimeout(guard)
        resolve({ ...whole, continued: false })
      })
    })
  })
  // The test awaits the answer only when it expects one; a cut connection is not an unhandled error.
  answer.catch(() => undefined)
  req.flushHeaders()
  return {
    async write(chunk: Uint8Array): Promise<boolean> {
      if (req.destroyed || answered) return false
      if (!req.write(chunk)) await drained(req)
      return !req.destroyed && !answered
    },
    end(): void {
      if (!req.destroyed && !req.writableEnded) req.end()
    },
    abort(): void {
      req.destroy()
    },
    get answered() {
      return answered
    },
    answer,
  }
}

function drained(req: ClientRequest): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      req.off('drain', done)
      req.off('close', done)
      resolve()
    }
    req.on('drain', done)
    req.on('close', done)
  })
}

/** What a client that left mid-download saw before it left. */
export interface Abandoned {
  readonly status: number
  readonly backend: string | undefined
  readonly setCookies: readonly string[]
  /** Bytes of the body received before leaving (at least one chunk). */
  readonly received: number
}

/**
 * Sends a bodiless request, waits for the first chunk of the response body, then cuts the
 * connection: a client that leaves in the middle of a download.
 */
export function abandonDownload(baseUrl: string, exchange: Pick<Exchange, 'method' | 'path' | 'headers' | 'jar' | 'guardMs'> = {}): Promise<Abandoned> {
  const url = new URL(exchange.path ?? '/', baseUrl)
  const headers: OutgoingHttpHeaders = { ...exchange.headers }
  const cookie = exchange.jar?.header()
  if (cookie !== undefined && headers['cookie'] === undefined) headers['cookie'] = cookie
  const method = exchange.method ?? 'GET'
  return new Promise<Abandoned>((resolve, reject) => {
    const guardMs = exchange.guardMs ?? 15_000
    const req = httpRequest(url, { method, headers, agent: false })
    const guard = setTimeout(() => req.destroy(new Error(`no response body to ${method} ${url.pathname} in ${guardMs} ms`)), guardMs)
    let left = false
    req.on('error', (error) => {
      clearTimeout(guard)
      if (!left) reject(error)
    })
    req.on('response', (res) => {
      res.on('error', () => undefined)
      res.once('data', (chunk: Buffer) => {
        left = true
        clearTimeout(guard)
        const backend = res.headers['x-backend']
        req.destroy()
        resolve({
          status: res.statusCode ?? 0,
          backend: typeof backend === 'string' ? backend : undefined,
          setCookies: res.headers['set-cookie'] ?? [],
          received: chunk.length,
        })
      })
      res.once('end', () => {
        if (!left) reject(new Error(`the response to ${method} ${url.pathname} ended before the client could leave it`))
      })
    })
    req.end()
  })
}

async function pump(chunks: AsyncIterable<Uint8Array>, req: ClientRequest): Promise<void> {
  for await (const chunk of chunks) {
    if (req.destroyed) return
    if (!req.write(chunk)) await drained(req)
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
  /** The body after the head, de-chunked when the answer was chunked, cut at its `Content-Length`. */
  readonly body: Buffer
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
      const bytes = Buffer.concat(chunks)
      const text = bytes.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      const head = end === -1 ? text : text.slice(0, end)
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)
      const backend = /^x-backend:\s*(\S+)/im.exec(head)?.[1]
      resolve({ status, head, backend, body: end === -1 ? Buffer.alloc(0) : rawBody(head, bytes.subarray(end + 4)) })
    })
    socket.write(bytes)
  })
}

/** The body of a raw answer: de-chunked for `Transfer-Encoding: chunked`, else cut at `Content-Length`. */
function rawBody(head: string, rest: Buffer): Buffer {
  if (/^transfer-encoding:[^\r\n]*chunked/im.test(head)) {
    const parts: Buffer[] = []
    let at = 0
    for (;;) {
      const eol = rest.indexOf('\r\n', at, 'latin1')
      if (eol === -1) break
      const size = Number.parseInt(rest.subarray(at, eol).toString('latin1'), 16)
      if (!Number.isFinite(size) || size === 0) break
      parts.push(rest.subarray(eol + 2, eol + 2 + size))
      at = eol + 2 + size + 2
    }
    return Buffer.concat(parts)
  }
  const length = /^content-length:\s*(\d+)/im.exec(head)?.[1]
  return length === undefined ? rest : rest.subarray(0, Number(length))
}
