import { createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import type { StickyFetch } from '../src/index'
import type { Listening } from './_servers'

/** The client side: a request as a runtime hands it to the handler. */
export function clientRequest(path: string, init: RequestInit & { duplex?: 'half' } = {}): Request {
  return new Request(`https://shop.example${path}`, init)
}

/** The `Cookie` header that pins a client to `server`. */
export function pinnedTo(handler: StickyFetch, server: Pick<Listening, 'address'>): string {
  const peer = handler.balancer.peers.find((p) => p.id === server.address)
  if (peer === undefined) throw new Error(`${server.address} is not a peer`)
  return `route=${handler.balancer.cookieValue(peer)}`
}

/** A client body of `text` in two chunks, both available at once. */
export function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes.subarray(0, 10))
      controller.enqueue(bytes.subarray(10))
      controller.close()
    },
  })
}

/** Resolves with the value `signal` is called with; rejects after `guardMs` (a hang guard, not a speed check). */
export function signalled<T = void>(what: string, guardMs = 5_000): { signal: (value: T) => void; done: Promise<T> } {
  let signal!: (value: T) => void
  const done = new Promise<T>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`guard: ${what} did not happen`)), guardMs)
    signal = (value) => {
      clearTimeout(guard)
      resolve(value)
    }
  })
  // A guard that fires after the case ended must not become an unhandled rejection.
  done.catch(() => undefined)
  return { signal, done }
}

/**
 * A client body under the test's control: `send` hands the client's next chunk over (and `end`,
 * `fail` end the stream); `pulls` counts how often the proxy asked for a chunk.
 */
export interface ScriptedBody {
  readonly stream: ReadableStream<Uint8Array>
  send(text: string): void
  end(): void
  fail(error: Error): void
  readonly pulls: () => number
}

/** A client body that yields only what the test sends, when it sends it. */
export function scriptedBody(): ScriptedBody {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  let pulls = 0
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c
      },
      pull() {
        pulls += 1
      },
    },
    { highWaterMark: 0 },
  )
  return {
    stream,
    send: (text) => controller.enqueue(new TextEncoder().encode(text)),
    end: () => controller.close(),
    fail: (error) => controller.error(error),
    pulls: () => pulls,
  }
}

/** A client body that yields `chunk` every time it is asked, forever: an upload that never ends. */
export function endlessBody(chunk: Uint8Array = new Uint8Array(64 * 1024)): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({ pull: (controller) => controller.enqueue(chunk) }, { highWaterMark: 0 })
}

/** A raw TCP peer on 127.0.0.1: `onConnection` gets every socket; `close` destroys them all. */
export interface RawPeer {
  readonly port: number
  readonly address: string
  readonly connections: () => number
  close(): Promise<void>
}

/** Starts a {@link RawPeer}: for answers node:http would never send. */
export async function rawPeer(onConnection: (socket: Socket) => void): Promise<RawPeer> {
  const sockets = new Set<Socket>()
  let connections = 0
  const server: Server = createServer((socket) => {
    connections += 1
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
    onConnection(socket)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
  return {
    port: address.port,
    address: `127.0.0.1:${address.port}`,
    connections: () => connections,
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** An `ip:port` on 127.0.0.1 where nothing listens: connections are refused. */
export async function deadAddress(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
  return `127.0.0.1:${address.port}`
}

/** Calls `answer` with the request head once a socket has received all of it (through the blank line). */
export function onRequestHead(socket: Socket, answer: (head: string) => void): void {
  let received = ''
  const onData = (chunk: Buffer): void => {
    received += chunk.toString('latin1')
    const end = received.indexOf('\r\n\r\n')
    if (end === -1) return
    socket.off('data', onData)
    answer(received.slice(0, end))
  }
  socket.on('data', onData)
}
