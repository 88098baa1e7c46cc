import { createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'

/** A raw TCP upstream: the test writes the bytes, so it can misbehave exactly as a case needs. */
export interface RawBackend {
  /** `127.0.0.1:<port>` */
  readonly address: string
  /** Connections accepted so far. */
  readonly connections: () => number
  close(): Promise<void>
}

/**
 * Starts a {@link RawBackend} on 127.0.0.1 (port 0) that hands each accepted connection, with its
 * index (0 for the first), to `onConnection`. Every socket is destroyed on close.
 */
export async function startRawBackend(onConnection: (socket: Socket, index: number) => void): Promise<RawBackend> {
  const sockets = new Set<Socket>()
  let accepted = 0
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    onConnection(socket, accepted++)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => accepted,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
    },
  }
}

/**
 * Calls `onRequest` with the index of each request head that arrives on `socket` (requests without
 * a body, as a proxy sends GETs), 0 for the first.
 */
export function onRequestHeads(socket: Socket, onRequest: (index: number) => void): void {
  let buffered = ''
  let index = 0
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1')
    for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
      buffered = buffered.slice(end + 4)
      onRequest(index++)
    }
  })
}

/** A complete, kept-alive 200 answer with `body`. */
export function okResponse(body: string, extra = ''): string {
  return `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`
}
