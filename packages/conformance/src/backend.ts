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
  let server: Server | undefined
  const sockets = new Set<Socket>()

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    requests += 1
    res.setHeader('x-backend', name)
    res.setHeader('x-method', req.method ?? '')
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/echo') return echo(req, res)
    if (path === '/hang') {
      req.resume()
      return
    }
    if (path === '/set-cookies') res.appendHeader('set-cookie', ['up1=a; Path=/', 'up2=b; Path=/; HttpOnly'])
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
    const closed = new Promise<void>((resolve) => s.close(() => resolve()))
    for (const socket of sockets) socket.destroy()
    s.closeAllConnections()
    await closed
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
    stop,
    async restart() {
      if (server === undefined) await listen(port)
    },
    close: stop,
  }
}

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
