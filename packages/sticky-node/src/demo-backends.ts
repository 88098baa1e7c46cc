import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The response header by which a demo backend names itself. */
export const BACKEND_HEADER = 'x-demo-backend'

/** A tiny node:http application server on 127.0.0.1 that answers every request with its own name. */
export interface DemoBackend {
  /** One letter, `A`, `B`, ... */
  readonly name: string
  /** `127.0.0.1:<port>`, the peer address given to the proxy. */
  readonly address: string
  /** Stops accepting and drops every open connection, the way a crashed process would. */
  stop(): Promise<void>
  /** Listens again on the same port, as a restarted process would. */
  restart(): Promise<void>
}

/** Starts a backend on an ephemeral port of 127.0.0.1. */
export async function startBackend(name: string): Promise<DemoBackend> {
  const server = createServer((req, res) => {
    // Drain the request before answering so that the kept-alive connection stays usable.
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', [BACKEND_HEADER]: name })
      res.end(`served by backend ${name}\n`)
    })
  })
  const port = await listen(server, 0)
  const address = `127.0.0.1:${port}`
  return {
    name,
    address,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
    restart: async () => {
      await listen(server, port)
    },
  }
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error)
    server.once('error', onError)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}
