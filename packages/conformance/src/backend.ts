import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** What a backend answers on every path but `/echo`: proof of what reached it. */
export interface EchoReport {
  readonly backend: string
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  /** The request headers exactly as received, names in their original case. */
  readonly rawHeaders: readonly string[]
  readonly length: number
  readonly sha256: string
}

/**
 * A real `node:http` upstream on 127.0.0.1 that says who it is (`x-backend`) and what it
 * received. Paths:
 * - `/echo`: streams the request body back as the response body.
 * - `/set-cookies`: adds two `Set-Cookie` headers of its own.
 * - `/hang`: reads the request and never answers.
 * - `/early-413`: answers 413 with `Connection: close` as soon as the request head arrives, without
 *   reading the body, as a server refusing an oversized upload does; node:http then closes the
 *   connection under the rest of the upload.
 * - `/slow-body`: a 200 whose body ({@link SLOW_BODY}) trickles out in small chunks over about two
 *   seconds, the first one at once; it stops early when the connection is cut.
 * - `/hop-response`: a JSON {@link EchoReport} whose response also carries hop-by-hop fields
 *   ({@link HOP_RESPONSE}) beside end-to-end ones.
 * - anything else: a JSON {@link EchoReport}; for HEAD the same headers without the body.
 */
export interface Backend {
  readonly name: string
  readonly port: number
  /** `127.0.0.1:<port>`: the peer address to configure. */
  readonly address: string
  /** Requests received since start. */
  readonly requests: number
  /** TCP connections accepted since start. */
  readonly connections: number
  /**
   * Requests whose exchange is over: the response was sent whole, or the connection was cut under
   * it. `closed === requests` means nothing is in flight at this backend.
   */
  readonly closed: number
  /** Stops listening and cuts every open connection: the peer is now dead. */
  stop(): Promise<void>
  /** Listens again on the same port. */
  restart(): Promise<void>
  /** Same as `stop`; safe to call more than once. */
  close(): Promise<void>
}

/** Starts a {@link Backend} named `name` on an ephemeral loopback port. */
export async function startBackend(name: string): Promise<Backend> {
  let requests = 0
  let connections = 0
  let closed = 0
  let server: Server | undefined
  const sockets = new Set<Socket>()

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    requests += 1
    res.once('close', () => (closed += 1))
    res.setHeader('x-backend', name)
    res.setHeader('x-method', req.method ?? '')
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/echo') return echo(req, res)
    if (path === '/hang') {
      req.resume()
      return
    }
    if (path === '/early-413') return refuse(res)
    if (path === '/slow-body') return trickle(res)
    if (path === '/set-cookies') res.appendHeader('set-cookie', ['up1=a; Path=/', 'up2=b; Path=/; HttpOnly'])
    if (path === '/hop-response') for (const [field, value] of HOP_RESPONSE) res.appendHeader(field, value)
    report(name, req, res)
  }

  const listen = async (port: number): Promise<number> => {
    const s = createServer(onRequest)
    s.keepAliveTimeout = 5_000
    s.on('connection', (socket: Socket) => {
      connections += 1
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject)
        resolve()
      })
    })
    server = s
    const address = s.address()
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
    return address.port
  }

  const stop = async (): Promise<void> => {
    const s = server
    if (s === undefined) return
    server = undefined
    const stopped = new Promise<void>((resolve) => s.close(() => resolve()))
    for (const socket of sockets) socket.destroy()
    s.closeAllConnections()
    await stopped
  }

  const port = await listen(0)
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    get requests() {
      return requests
    },
    get connections() {
      return connections
    },
    get closed() {
      return closed
    },
    stop,
    async restart() {
      if (server === undefined) await listen(port)
    },
    close: stop,
  }
}

/** The body `/early-413` answers with. */
export const EARLY_413_BODY = 'upload refused\n'

function refuse(res: ServerResponse): void {
  // Not a byte of the body is read: node:http answers, then closes the connection (its `_last`).
  res.writeHead(413, { connection: 'close', 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(EARLY_413_BODY)) })
  res.end(EARLY_413_BODY)
}

/** The shape of the `/slow-body` response: a first chunk at once, then one every `intervalMs`. */
export const SLOW_BODY = { chunkBytes: 16 * 1024, chunks: 80, intervalMs: 25 } as const

function trickle(res: ServerResponse): void {
  const chunk = Buffer.alloc(SLOW_BODY.chunkBytes, 0x2e)
  res.writeHead(200, { 'content-type': 'application/octet-stream' })
  let sent = 1
  res.write(chunk)
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer)
    res.write(chunk)
    sent += 1
    if (sent < SLOW_BODY.chunks) return
    clearInterval(timer)
    res.end()
  }, SLOW_BODY.intervalMs)
  res.once('close', () => clearInterval(timer))
}

/**
 * The fields `/hop-response` adds: `Connection` names `X-Up`, so `X-Up` is hop-by-hop on this
 * hop; `Keep-Alive` and `Proxy-Authenticate` are hop-by-hop whatever `Connection` says; `X-End` and
 * `Cache-Control` are end-to-end.
 */
export const HOP_RESPONSE: readonly (readonly [string, string])[] = [
  ['Connection', 'x-up'],
  ['X-Up', '1'],
  ['Keep-Alive', 'timeout=17, max=99'],
  ['Proxy-Authenticate', 'Basic realm="peer"'],
  ['X-End', '1'],
  ['Cache-Control', 'no-store'],
]

function echo(req: IncomingMessage, res: ServerResponse): void {
  const length = req.headers['content-length']
  if (length !== undefined) res.setHeader('content-length', length)
  res.setHeader('content-type', 'application/octet-stream')
  req.pipe(res)
}

function report(name: string, req: IncomingMessage, res: ServerResponse): void {
  const hash = createHash('sha256')
  let length = 0
  req.on('data', (chunk: Buffer) => {
    length += chunk.length
    hash.update(chunk)
  })
  req.on('end', () => {
    const body: EchoReport = {
      backend: name,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      length,
      sha256: hash.digest('hex'),
    }
    const json = Buffer.from(JSON.stringify(body))
    res.setHeader('x-body-length', String(length))
    res.setHeader('x-body-sha256', body.sha256)
    res.setHeader('content-type', 'application/json')
    res.setHeader('content-length', String(json.length))
    res.end(req.method === 'HEAD' ? undefined : json)
  })
}
