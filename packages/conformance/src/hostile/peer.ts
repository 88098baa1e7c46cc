import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer, type Server, type Socket } from 'node:net'

/** What a peer script can do on one accepted connection. */
export interface PeerIO {
  readonly socket: Socket
  /** Every byte received on this connection so far. */
  received(): Buffer
  /**
   * Resolves once the request head arrived, or, with `body`, the whole request as its framing
   * (Content-Length or chunked) says; resolves as well when the connection ends first.
   */
  request(options?: { readonly body?: boolean }): Promise<void>
  /** Writes `bytes`; resolves once they are handed to the kernel, or the connection is gone. */
  write(bytes: Buffer | string): Promise<void>
  /** Writes `bytes` in `pieces` parts, `gapMs` apart (the first at once). */
  drip(bytes: Buffer | string, pieces: number, gapMs: number): Promise<void>
  /** Half-closes (FIN) after what was written, and keeps reading. */
  end(): void
  /** Resets the connection (RST), dropping whatever was not sent. */
  reset(): void
  /** Stops reading: the kernel buffers fill and the sender is pushed back. */
  stopReading(): void
  /** Reads and discards everything from now on. */
  drain(): void
  /** Resolves when the connection is closed (by either side). */
  closed(): Promise<void>
  sleep(ms: number): Promise<void>
  /**
   * Lets the case check, while this connection is in its hostile state, that the proxy serves
   * other clients meanwhile. Call it once the request arrived; later calls do nothing.
   */
  meanwhile(): Promise<void>
}

/** What a misbehaving peer does with each connection it accepts. */
export type PeerScript = (io: PeerIO) => Promise<void>

/** A `node:net` peer on 127.0.0.1 that runs a script, then (after `setGood`) answers like a plain HTTP server. */
export interface HostilePeer {
  readonly name: string
  readonly port: number
  readonly address: string
  /** Connections accepted while hostile. */
  readonly hostileSockets: readonly Socket[]
  /** Errors the scripts threw (a script bug, not the proxy's). */
  readonly scriptErrors: readonly unknown[]
  /**
   * From now on, connections are answered `200` with `x-backend: <name>`, the open ones too (what
   * their script sends no longer matters; a proxy may have pooled them).
   */
  setGood(): void
  /** Stops listening: connecting is refused. Open connections stay. */
  stopListening(): Promise<void>
  /** Listens again on the same port. */
  listen(): Promise<void>
  /**
   * Whether every hostile connection is closed. A connection the script stopped reading cannot see
   * the proxy's FIN: call {@link release} first.
   */
  hostileClosed(): boolean
  /** Reads and discards on every hostile connection from now on (so that a close by the proxy is seen). */
  release(): void
  close(): Promise<void>
}

/** The end of the request head, and how long the whole request is, or undefined while unknown. */
function requestEnd(buffer: Buffer, withBody: boolean): number | undefined {
  const headEnd = buffer.indexOf('\r\n\r\n')
  if (headEnd === -1) return undefined
  const bodyStart = headEnd + 4
  if (!withBody) return bodyStart
  const head = buffer.subarray(0, headEnd).toString('latin1')
  const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head)
  if (length !== null) {
    const end = bodyStart + Number(length[1])
    return buffer.length >= end ? end : undefined
  }
  if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
    const last = buffer.indexOf('\r\n0\r\n\r\n', bodyStart - 2)
    const first = buffer.subarray(bodyStart, bodyStart + 5).toString('latin1') === '0\r\n\r\n' ? bodyStart + 5 : -1
    if (first !== -1) return first
    return last === -1 ? undefined : last + 7
  }
  return bodyStart
}

/** Starts a hostile peer named `name` that runs `script` on every connection until `setGood`. */
export async function startHostilePeer(name: string, script: PeerScript, meanwhile: () => Promise<void>): Promise<HostilePeer> {
  const sockets = new Set<Socket>()
  const hostileSockets: Socket[] = []
  const closedSockets = new WeakSet<Socket>()
  const scriptErrors: unknown[] = []
  const releases: (() => void)[] = []
  const handovers: (() => void)[] = []
  let good = false
  let meanwhileDone: Promise<void> | undefined

  const goodServer = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'x-backend': name, 'content-type': 'text/plain', 'content-length': '5' })
      res.end('good\n')
    })
  })

  const onConnection = (socket: Socket): void => {
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.once('close', () => {
      sockets.delete(socket)
      closedSockets.add(socket)
    })
    if (good) {
      goodServer.emit('connection', socket)
      return
    }
    hostileSockets.push(socket)
    let buffer = Buffer.alloc(0)
    let discard = false
    const release = (): void => {
      discard = true
      buffer = Buffer.alloc(0)
      socket.resume()
    }
    releases.push(release)
    // Once the peer turns good, a connection the proxy kept (pooled) is answered well too.
    handovers.push(() => {
      release()
      if (!socket.destroyed) goodServer.emit('connection', socket)
    })
    const waiters = new Set<() => void>()
    socket.on('data', (chunk: Buffer) => {
      if (!discard) buffer = Buffer.concat([buffer, chunk])
      for (const wake of waiters) wake()
    })
    socket.on('end', () => {
      for (const wake of waiters) wake()
    })
    const isClosed = (): boolean => socket.destroyed || socket.readableEnded
    const waitFor = (ready: () => boolean): Promise<void> =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (ready() || isClosed()) {
            waiters.delete(check)
            socket.off('close', check)
            resolve()
          }
        }
        waiters.add(check)
        socket.once('close', check)
        check()
      })
    const io: PeerIO = {
      socket,
      received: () => buffer,
      request: (options) => waitFor(() => requestEnd(buffer, options?.body === true) !== undefined),
      write: (bytes) =>
        new Promise<void>((resolve) => {
          if (socket.destroyed) return resolve()
          const done = (): void => {
            socket.off('close', done)
            resolve()
          }
          socket.once('close', done)
          socket.write(bytes, done)
        }),
      async drip(bytes, pieces, gapMs) {
        const data = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes
        const size = Math.max(1, Math.ceil(data.length / pieces))
        for (let at = 0; at < data.length; at += size) {
          if (at > 0) await io.sleep(gapMs)
          if (socket.destroyed) return
          await io.write(data.subarray(at, at + size))
        }
      },
      end: () => void socket.end(),
      reset: () => {
        if (!socket.destroyed) socket.resetAndDestroy()
      },
      stopReading: () => void socket.pause(),
      drain: () => {
        discard = true
        buffer = Buffer.alloc(0)
        socket.resume()
      },
      closed: () => (socket.destroyed ? Promise.resolve() : new Promise<void>((resolve) => socket.once('close', () => resolve()))),
      sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
      meanwhile: () => {
        meanwhileDone ??= meanwhile()
        return meanwhileDone
      },
    }
    script(io).catch((error: unknown) => {
      scriptErrors.push(error)
      socket.destroy()
    })
  }

  let server: Server | undefined
  let port = 0
  const listen = async (): Promise<void> => {
    if (server !== undefined) return
    const s = createServer(onConnection)
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
    port = address.port
  }
  const stopListening = async (): Promise<void> => {
    const s = server
    if (s === undefined) return
    server = undefined
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }
  await listen()

  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    hostileSockets,
    scriptErrors,
    setGood: () => {
      good = true
      for (const handover of handovers.splice(0)) handover()
    },
    stopListening: async () => {
      // close() waits for open connections; the port is free once the listener is gone.
      const s = server
      if (s === undefined) return
      server = undefined
      s.close()
      await new Promise<void>((resolve) => setImmediate(resolve))
    },
    listen,
    release: () => {
      for (const release of releases) release()
    },
    hostileClosed: () => hostileSockets.every((s) => closedSockets.has(s) || s.destroyed),
    async close() {
      for (const socket of sockets) socket.destroy()
      goodServer.closeAllConnections()
      await stopListening()
    },
  }
}
