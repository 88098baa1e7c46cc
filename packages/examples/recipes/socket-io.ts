// socket.io behind sticky-node. A socket.io session lives in one server's memory: with the polling
// transport every request of the session (one GET or POST after another, each a separate HTTP request)
// and the upgrade to WebSocket must reach the server that did the handshake, or that server's peers
// answer "Session ID unknown". The route cookie sees to it: the handshake's response pins the browser,
// and every later request, the WebSocket upgrade included, carries the cookie back to the same backend.
// Run with the test suite (test/recipes.test.ts); in production, give the ports.
import { createServer } from 'node:http'
import type { Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Server } from 'socket.io'
import { createStickyProxy } from 'sticky-node'

/** A socket.io server that says which backend it is. */
export interface SocketBackend {
  readonly id: string
  /** `127.0.0.1:<port>`, the peer to give the proxy. */
  readonly address: string
  readonly http: HttpServer
  readonly io: Server
  close(): Promise<void>
}

/** One backend: an ordinary page on every path, socket.io under /socket.io/. */
export async function startBackend(id: string, port = 0): Promise<SocketBackend> {
  const http = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.end(`page from ${id}\n`)
  })
  const io = new Server(http)
  io.on('connection', (socket) => {
    socket.emit('hello', id)
    socket.on('whoami', (ack: (backend: string) => void) => ack(id))
  })
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve))
  return {
    id,
    address: `127.0.0.1:${(http.address() as AddressInfo).port}`,
    http,
    io,
    close: () => io.close().then(() => undefined), // also closes `http`
  }
}

export interface Started {
  /** Where the proxy listens: `http://127.0.0.1:<port>`. */
  readonly url: string
  close(): Promise<void>
}

/** The sticky proxy in front of the backends: requests and upgrades, pinned by the same cookie. */
export async function startProxy(peers: string[], port = 0): Promise<Started> {
  const proxy = createStickyProxy({ peers, cookie: { name: 'route', httpOnly: true, sameSite: 'Lax' } })
  const server = createServer(proxy)
  server.on('upgrade', proxy.upgrade) // socket.io's upgrade to WebSocket goes where the cookie says
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          proxy.close()
          resolve()
        })
        server.closeAllConnections()
      }),
  }
}
