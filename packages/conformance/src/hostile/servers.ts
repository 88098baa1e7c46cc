import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createNetServer, type Socket } from 'node:net'
import { exchange, fieldValues, type WireAnswer } from './wire'

/** A well-behaved `node:http` peer on 127.0.0.1 that answers `200` with `x-backend: <name>`. */
export interface GoodPeer {
  readonly name: string
  readonly address: string
  readonly requests: number
  close(): Promise<void>
}

export async function startGoodPeer(name: string): Promise<GoodPeer> {
  let requests = 0
  const sockets = new Set<Socket>()
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests += 1
    req.resume()
    req.on('end', () => {
      const body = `good ${name}\n`
      res.writeHead(200, { 'x-backend': name, 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)) })
      res.end(body)
    })
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
  return {
    name,
    address: `127.0.0.1:${address.port}`,
    get requests() {
      return requests
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      server.closeAllConnections()
      await closed
    },
  }
}

/** A port that counts the connections made to it and answers none: a host no request may reach. */
export interface Trap {
  readonly port: number
  readonly address: string
  readonly connections: number
  close(): Promise<void>
}

export async function startTrap(): Promise<Trap> {
  let connections = 0
  const sockets = new Set<Socket>()
  const server = createNetServer((socket) => {
    connections += 1
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.once('close', () => sockets.delete(socket))
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
  return {
    port: address.port,
    address: `127.0.0.1:${address.port}`,
    get connections() {
      return connections
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A plain GET through the proxy with `cookie`; the answer and which peer gave it. */
export async function plainGet(url: string, cookie: string, guardMs: number): Promise<{ answer: WireAnswer; backend: string | undefined }> {
  const host = new URL(url).host
  const answer = await exchange(url, `GET /other HTTP/1.1\r\nHost: ${host}\r\nCookie: ${cookie}\r\n\r\n`, { guardMs })
  const backend = answer.head === undefined ? undefined : fieldValues(answer.head, 'x-backend')[0]
  return { answer, backend }
}
