// Child process of http.bench.ts: three node:http backends on 127.0.0.1, in one process so that every
// route under test (direct or through a proxy) has the same backend capacity behind it.
// Paths and sizes: backend-protocol.ts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CHUNK_BYTES, DOWNLOAD_PATH, SMALL_BODY, UPLOAD_PATH } from './backend-protocol'
import { serveParent } from './ipc'

const BACKENDS = 3
const CHUNK = Buffer.alloc(CHUNK_BYTES, 0x61)

const counts = new Array<number>(BACKENDS).fill(0)

function handle(index: number, req: IncomingMessage, res: ServerResponse): void {
  counts[index]! += 1
  const url = new URL(req.url ?? '/', 'http://backend')
  if (req.method === 'POST' && url.pathname === UPLOAD_PATH) {
    let received = 0
    req.on('data', (chunk: Buffer) => {
      received += chunk.length
    })
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(String(received))
    })
    return
  }
  if (url.pathname === DOWNLOAD_PATH) {
    const total = Number(url.searchParams.get('bytes') ?? 0)
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) })
    let sent = 0
    const pump = (): void => {
      while (sent < total) {
        const chunk = total - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, total - sent)
        sent += chunk.length
        if (!res.write(chunk)) {
          res.once('drain', pump)
          return
        }
      }
      res.end()
    }
    pump()
    return
  }
  req.resume()
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(SMALL_BODY.length) }).end(SMALL_BODY)
}

function listen(index: number): Promise<Server> {
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => handle(index, req, res))
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

async function main(): Promise<void> {
  const servers = await Promise.all(Array.from({ length: BACKENDS }, (_, i) => listen(i)))
  const ports = servers.map((s) => (s.address() as AddressInfo).port)
  serveParent(
    {
      /** Requests per backend since the last call. */
      counts: () => counts.splice(0, BACKENDS, ...new Array<number>(BACKENDS).fill(0)),
    },
    { ports },
    () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections()
              s.close(() => resolve())
            }),
        ),
      ).then(() => undefined),
  )
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
