import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type RequestListener, type Server } from 'node:http'
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net'

/** A test upstream: counts its connections and requests, and closes everything it holds. */
export interface Upstream {
  readonly port: number
  /** `127.0.0.1:<port>` */
  readonly address: string
  readonly connections: number
  readonly sockets: ReadonlySet<Socket>
  close(): Promise<void>
}

function track(server: Server | NetServer): { sockets: Set<Socket>; count: () => number } {
  const sockets = new Set<Socket>()
  let count = 0
  server.on('connection', (socket: Socket) => {
    count += 1
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  return { sockets, count: () => count }
}

async function listen(server: Server | NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/** Starts `server` on an ephemeral loopback port, counting and tracking its connections. */
async function started(server: Server | NetServer): Promise<Upstream> {
  const tracked = track(server)
  const port = await listen(server)
  return {
    port,
    address: `127.0.0.1:${port}`,
    get connections() {
      return tracked.count()
    },
    sockets: tracked.sockets,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const s of tracked.sockets) s.destroy()
      if ('closeAllConnections' in server) server.closeAllConnections()
      await closed
    },
  }
}

/** A `node:http` upstream running `handler`. */
export async function httpUpstream(handler: RequestListener): Promise<Upstream & { readonly server: Server }> {
  const server = createServer(handler)
  return Object.assign(await started(server), { server })
}

/** A TCP upstream that speaks whatever `onConnection` writes (garbage, half responses). */
export function rawUpstream(onConnection: (socket: Socket) => void): Promise<Upstream> {
  return started(createNetServer(onConnection))
}

/** An answer read completely, or the error that ended it. */
export interface Fetched {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
  readonly trailers: NodeJS.Dict<string>
}

/** One request with no agent: the connection closes with the exchange. */
export function fetchOnce(url: string, options: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer; guardMs?: number } = {}): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false })
    const guard = setTimeout(() => req.destroy(new Error('guard: no complete answer')), options.guardMs ?? 10_000)
    const fail = (error: Error): void => {
      clearTimeout(guard)
      reject(error)
    }
    req.on('error', fail)
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', fail)
      res.on('end', () => {
        clearTimeout(guard)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), trailers: res.trailers })
      })
    })
    req.end(options.body)
  })
}

/** Resolves once `emitter` emits `event`, with its first argument. */
export function once<T = unknown>(emitter: { once(event: string, listener: (value: T) => void): unknown }, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, resolve))
}

/** Collects `onResponse` events and lets a test wait for the n-th one. */
export class EventLog<T> {
  readonly events: T[] = []
  readonly #waiters: { count: number; resolve: () => void }[] = []

  /** Pass as `onResponse`. */
  readonly push = (event: T): void => {
    this.events.push(event)
    for (const w of this.#waiters.filter((w) => this.events.length >= w.count)) w.resolve()
  }

  /** Resolves with the first `count` events once they arrived. */
  async first(count: number): Promise<T[]> {
    if (this.events.length < count) await new Promise<void>((resolve) => this.#waiters.push({ count, resolve }))
    return this.events.slice(0, count)
  }
}

/**
 * Polls `condition` until it holds; rejects after `guardMs` so that a broken proxy fails the test
 * instead of hanging it (a guard, not a speed requirement).
 */
export async function until(condition: () => boolean | Promise<boolean>, what: string, guardMs = 5_000): Promise<void> {
  const deadline = Date.now() + guardMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`guard: still waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
