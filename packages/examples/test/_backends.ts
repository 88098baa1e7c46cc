// Real backends and a real browser's cookie jar for the recipe tests: every server listens on 127.0.0.1
// on a port the system picks, and every test closes what it started.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'

/** What a backend saw of one request, sent back to the client as JSON. */
export interface Seen {
  readonly backend: string
  readonly method: string
  readonly url: string
  readonly host: string | undefined
  readonly forwardedFor: string | undefined
  readonly body: string
}

/** One `node:http` backend that answers every request with who it is and what it got. */
export interface Backend {
  readonly id: string
  /** `127.0.0.1:port`, a peer for sticky-node. */
  readonly address: string
  /** `http://127.0.0.1:port`, a peer for sticky-fetch. */
  readonly origin: string
  close(): Promise<void>
}

/** Listens on 127.0.0.1, on a port the system picks, and resolves with the port. */
export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

/** Closes a server and the kept-alive connections it still holds. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}

/** Starts `count` backends, named `backend-1`, `backend-2`, ... */
export async function startBackends(count: number): Promise<Backend[]> {
  const backends: Backend[] = []
  for (let i = 1; i <= count; i++) {
    const id = `backend-${i}`
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        const seen: Seen = {
          backend: id,
          method: req.method ?? '',
          url: req.url ?? '',
          host: req.headers.host,
          forwardedFor: req.headers['x-forwarded-for'] as string | undefined,
          body: Buffer.concat(chunks).toString('utf8'),
        }
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify(seen))
      })
    })
    const port = await listen(server)
    backends.push({ id, address: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}`, close: () => closeServer(server) })
  }
  return backends
}

/**
 * A browser's cookie jar, reduced to what these tests need: it keeps every cookie a response sets (by
 * name, ignoring attributes: all of them are `Path=/` on one host) and sends them back.
 */
export class Browser {
  readonly cookies: Map<string, string> = new Map()

  /** Sends a request with the jar's cookies, over the network or to `transport` (a fetch handler). */
  async fetch(url: string, init: RequestInit = {}, transport: (request: Request) => Promise<Response> = fetch): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '))
    const response = await transport(new Request(url, { ...init, headers }))
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';', 1)[0]!
      const eq = pair.indexOf('=')
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim())
    }
    return response
  }

  /** A request answered by a test backend: what that backend saw. */
  async seen(url: string, init: RequestInit = {}): Promise<Seen> {
    const response = await this.fetch(url, init)
    const text = await response.text()
    if (response.status !== 200) throw new Error(`${url}: ${response.status} ${text}`)
    return JSON.parse(text) as Seen
  }
}
