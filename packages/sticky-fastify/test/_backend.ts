import { createServer } from 'node:http'
import type { IncomingHttpHeaders, Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** What one upstream request looked like on arrival. */
export interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

/** A node:http upstream that records its requests and counts its open sockets. */
export interface TrackedBackend {
  readonly name: string
  /** `127.0.0.1:<port>`, or `unix:<path>` when listening on a socket. */
  readonly address: string
  readonly seen: readonly Seen[]
  /** Sockets currently open: keep-alive connections of the proxy's pool show up here. */
  readonly openSockets: number
  /** Resolves once no socket is open, or rejects after `guardMs` (a hang guard, not a speed check). */
  whenNoSockets(guardMs?: number): Promise<void>
  close(): Promise<void>
}

/**
 * Starts a backend that answers every request with `x-backend: <name>`, an upstream cookie
 * `up=<name>` and, in the body, the method and URL it received. Listens on 127.0.0.1 (port 0)
 * or, given `socketPath`, on a unix socket.
 */
export async function startTrackedBackend(name: string, socketPath?: string): Promise<TrackedBackend> {
  const seen: Seen[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) })
      res.setHeader('x-backend', name)
      res.setHeader('set-cookie', `up=${name}; Path=/`)
      res.setHeader('content-type', 'text/plain')
      res.end(`${name} ${req.method ?? ''} ${req.url ?? ''}`)
    })
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    const ready = (): void => {
      server.off('error', reject)
      resolve()
    }
    if (socketPath === undefined) server.listen(0, '127.0.0.1', ready)
    else server.listen(socketPath, ready)
  })
  const address = socketPath === undefined ? `127.0.0.1:${(server.address() as AddressInfo).port}` : `unix:${socketPath}`
  return {
    name,
    address,
    seen,
    get openSockets() {
      return sockets.size
    },
    async whenNoSockets(guardMs = 5_000) {
      const deadline = Date.now() + guardMs
      while (sockets.size > 0) {
        if (Date.now() > deadline) throw new Error(`${name}: ${sockets.size} socket(s) still open after ${guardMs} ms`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    },
  }
}

/** A backend that takes requests and never answers them. */
export interface StalledBackend {
  readonly address: string
  /** Requests that reached the backend so far. */
  readonly requests: () => number
  /** Resolves when the first request's head, and its first body bytes if it has a body, have arrived. */
  readonly arrived: Promise<void>
  close(): Promise<void>
}

/** Starts a {@link StalledBackend} on 127.0.0.1 (port 0). */
export async function startStalledBackend(): Promise<StalledBackend> {
  const arrived = signalled('a request reaching the stalled backend')
  const sockets = new Set<Socket>()
  let requests = 0
  const server = createServer((req) => {
    requests += 1
    const declared = Number(req.headers['content-length'] ?? 0)
    if (declared > 0 || req.headers['transfer-encoding'] !== undefined) req.once('data', () => arrived.signal())
    else arrived.signal()
    req.resume()
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    arrived: arrived.done,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}

/**
 * A promise and the function that resolves it; it rejects after `guardMs` (a hang guard, not a
 * speed check), naming `what` did not happen.
 */
export function signalled<T = void>(what: string, guardMs = 5_000): { signal: (value: T) => void; done: Promise<T> } {
  let signal!: (value: T) => void
  const done = new Promise<T>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`guard: ${what} did not happen within ${guardMs} ms`)), guardMs)
    signal = (value) => {
      clearTimeout(guard)
      resolve(value)
    }
  })
  // A case that fails before awaiting must not leave an unhandled rejection behind.
  done.catch(() => undefined)
  return { signal, done }
}
