// Child process of reliability-measure.ts: one node:http backend on 127.0.0.1, alone in its process so
// that the benchmark can kill it hard (SIGKILL: the kernel closes its sockets, nothing says goodbye) and
// start it again on the same port. argv: its index (the name it answers with), then the port (0: any).
// Every response names the backend in BACKEND_HEADER, so that a client sees who served it.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BACKEND_HEADER, SMALL_BODY } from './backend-protocol'
import { serveParent } from './ipc'

/** What the backend says when it is ready. */
export interface BackendReady {
  readonly port: number
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? '0'
  const port = Number(process.argv[3] ?? 0)
  let served = 0
  // node:http's defaults otherwise (a 5 s keep-alive timeout): the backend as an application would run it.
  const server = createServer((req, res) => {
    served += 1
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(SMALL_BODY.length), [BACKEND_HEADER]: name }).end(SMALL_BODY)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const ready: BackendReady = { port: (server.address() as AddressInfo).port }
  serveParent(
    {
      /** Requests served since the last call. */
      served: () => {
        const n = served
        served = 0
        return n
      },
    },
    ready,
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
}

main().catch((error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code
  process.stderr.write(
    `reliability-backend: ${code === 'EADDRINUSE' ? 'EADDRINUSE' : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  )
  process.exit(1)
})
