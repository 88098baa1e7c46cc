import { createServer } from 'node:http'
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Readable } from 'node:stream'
import type { FetchHandler } from '../src/index'
import { getSetCookies } from '../src/index'

/** A server listening on 127.0.0.1 with an ephemeral port. */
export interface Listening {
  readonly port: number
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** The `ip:port` address, as a peer. */
  readonly address: string
  /** Connections accepted so far (a refused or reset attempt counts too). */
  readonly connections: () => number
  close(): Promise<void>
}

/**
 * Starts `listener` on 127.0.0.1:0 and tracks its sockets so that `close` never waits on keep-alive;
 * `onConnection` hears of each accepted connection.
 */
export async function listen(listener: RequestListener, onConnection?: () => void): Promise<Listening> {
  const server = createServer(listener)
  const sockets = new Set<Socket>()
  let connections = 0
  server.on('connection', (socket) => {
    connections += 1
    onConnection?.()
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    connections: () => connections,
    close: () => closeServer(server, sockets),
  }
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy()
  return new Promise((resolve) => server.close(() => resolve()))
}

/** What an echo backend saw, sent back as the JSON body. */
export interface Echo {
  readonly name: string
  readonly method: string
  readonly url: string
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/** A backend that answers every request with {@link Echo} as JSON. */
export function echoBackend(name: string): Promise<Listening> {
  return listen(async (req, res) => {
    const body = await readBody(req)
    const echo: Echo = { name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body }
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(echo))
  })
}

/** A backend that resets every connection as soon as a request arrives: the proxy's fetch rejects. */
export function resettingBackend(): Promise<Listening> {
  return listen((req) => req.socket.destroy())
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** How {@link serveFetch} hands requests over. */
export interface ServeOptions {
  /**
   * Abort the Request's `signal` when the client disconnects, as most runtimes do. `false` models a
   * runtime that never does: a client that leaves mid-upload is then seen only as its body failing.
   * @default true
   */
  readonly abortOnClose?: boolean
}

/**
 * Serves a fetch handler from node:http: the request body streams in (`duplex: 'half'`), the response
 * body streams out, and each `Set-Cookie` stays its own header. The remote address reaches the handler
 * as `env.remoteAddress`. The Request's `signal` aborts when the client disconnects before the response
 * is complete (unless `abortOnClose` is `false`).
 */
export function serveFetch(handler: FetchHandler, options: ServeOptions = {}): Promise<Listening> {
  const abortOnClose = options.abortOnClose ?? true
  return listen((req, res) => {
    void respond(handler, req, res, abortOnClose)
  })
}

async function respond(handler: FetchHandler, req: IncomingMessage, res: ServerResponse, abortOnClose: boolean): Promise<void> {
  // As runtimes do: the Request's signal aborts when the client leaves before the response is complete.
  const clientGone = new AbortController()
  res.once('close', () => {
    if (abortOnClose && !res.writableFinished) clientGone.abort()
  })
  const request = toRequest(req, clientGone.signal)
  if (request === undefined) {
    res.writeHead(400).end()
    return
  }
  try {
    const response = await handler(request, { remoteAddress: req.socket.remoteAddress })
    const headers: Record<string, string | string[]> = {}
    response.headers.forEach((value, name) => {
      if (name !== 'set-cookie') headers[name] = value
    })
    const cookies = getSetCookies(response.headers)
    if (cookies.length > 0) headers['set-cookie'] = cookies
    res.writeHead(response.status, response.statusText, headers)
    if (response.body === null) {
      endAfterUpload(req, res)
      return
    }
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>)
    body.on('error', () => res.destroy())
    body.on('end', () => endAfterUpload(req, res))
    body.pipe(res, { end: false })
  } catch {
    if (!res.headersSent) res.writeHead(500).end()
    else res.destroy()
  }
}

/**
 * Ends `res` once nothing of the request is left unread, as nginx's `lingering_close` and hyper do.
 * An answer that comes before the upload ended (an early 413) would otherwise be followed by
 * node:http closing a connection with unread bytes, which the kernel turns into a reset that can
 * destroy the answer before the client read it. The rest of an upload nobody took is read and dropped.
 */
function endAfterUpload(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete || req.destroyed) {
    res.end()
    return
  }
  // The handler's reader of the body stopped reading; the body's own listener is replaced by a drain.
  req.removeAllListeners('data')
  req.on('data', () => undefined)
  req.resume()
  const end = (): void => {
    if (!res.writableEnded) res.end()
  }
  req.once('end', end)
  req.once('close', end)
}

/** The fetch `Request` for `req`, or `undefined` when its Host or target is not a valid URL. */
function toRequest(req: IncomingMessage, signal: AbortSignal): Request | undefined {
  let url: URL
  try {
    // An absolute-form target (`GET http://other/ HTTP/1.1`) keeps only its path: the Host header names this server.
    const target = new URL(req.url ?? '/', 'http://target.invalid')
    url = new URL(target.pathname + target.search, `http://${req.headers.host ?? '127.0.0.1'}`)
  } catch {
    return undefined
  }
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string)
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal }
  if (hasBody) {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>
    init.duplex = 'half'
  }
  return new Request(url, init)
}

/** The per-case `after.each` hook of a uvu suite. */
interface AfterEachHook {
  after: { each(hook: () => Promise<void>): void }
}

/** Anything a test starts and must close. */
export interface Closable {
  close(): Promise<void>
}

/**
 * Registers an `after.each` hook on `suite` that closes every server the running case started through the
 * returned `started`, whether the case passed or not.
 */
export function closeAfterEach(suite: AfterEachHook): <T extends Closable>(server: Promise<T>) => Promise<T> {
  let servers: Closable[] = []
  suite.after.each(async () => {
    const closing = servers
    servers = []
    await Promise.all(closing.map((server) => server.close()))
  })
  return async (server) => {
    const s = await server
    servers.push(s)
    return s
  }
}
