// Child process of http.bench.ts: the proxy under test, alone in its process so that its memory and
// its event loop are its own. argv: `sticky` | `http-proxy`, then the backend ports as JSON.
import { Agent, createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import httpProxy from 'http-proxy'
import { createStickyProxy } from 'sticky-node'
import { serveParent } from './ipc'

/** What `memory` answers: bytes, after two collections. */
export interface ProxyMemory {
  readonly rss: number
  readonly heapUsed: number
}

/** What `peak-stop` answers: the largest growth over the values at `peak-start`, in bytes. */
export interface PeakGrowth {
  readonly heap: number
  readonly rss: number
}

const SAMPLE_MS = 5
const gc = (globalThis as { gc?: () => void }).gc

function collect(): ProxyMemory {
  if (gc === undefined) throw new Error('proxy-process needs --expose-gc')
  gc()
  gc()
  const { rss, heapUsed } = process.memoryUsage()
  return { rss, heapUsed }
}

function stickyServer(ports: readonly number[]): { server: Server; close: () => void } {
  const proxy = createStickyProxy({ peers: ports.map((p) => `127.0.0.1:${p}`) })
  const server = createServer(proxy)
  server.on('upgrade', proxy.upgrade)
  return { server, close: () => proxy.close() }
}

/** http-proxy as the classic Node reverse proxy is deployed: keep-alive upstream, X-Forwarded-*, round robin. */
function classicServer(ports: readonly number[]): { server: Server; close: () => void } {
  const agent = new Agent({ keepAlive: true })
  const proxy = httpProxy.createProxyServer({ agent, xfwd: true })
  let next = 0
  proxy.on('error', (_error, _req, res) => {
    if ('writeHead' in res && !res.headersSent) res.writeHead(502).end()
    else res.destroy()
  })
  const server = createServer((req, res) => {
    const port = ports[next]!
    next = (next + 1) % ports.length
    proxy.web(req, res, { target: `http://127.0.0.1:${port}` })
  })
  return {
    server,
    close: () => {
      proxy.close()
      agent.destroy()
    },
  }
}

async function main(): Promise<void> {
  const kind = process.argv[2]
  const ports = JSON.parse(process.argv[3] ?? '[]') as number[]
  const { server, close } = kind === 'sticky' ? stickyServer(ports) : kind === 'http-proxy' ? classicServer(ports) : fail(kind)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  let sampler: NodeJS.Timeout | undefined
  let base: ProxyMemory = { rss: 0, heapUsed: 0 }
  let peak: PeakGrowth = { heap: 0, rss: 0 }
  const sample = (): void => {
    const { rss, heapUsed } = process.memoryUsage()
    peak = { heap: Math.max(peak.heap, heapUsed - base.heapUsed), rss: Math.max(peak.rss, rss - base.rss) }
  }
  serveParent(
    {
      memory: (): ProxyMemory => collect(),
      'peak-start': (): void => {
        base = collect()
        peak = { heap: 0, rss: 0 }
        sampler = setInterval(sample, SAMPLE_MS)
      },
      'peak-stop': (): PeakGrowth => {
        clearInterval(sampler)
        sample()
        return peak
      },
    },
    { port: (server.address() as AddressInfo).port },
    () =>
      new Promise<void>((resolve) => {
        clearInterval(sampler)
        server.closeAllConnections()
        server.close(() => resolve())
        close()
      }),
  )
}

function fail(kind: string | undefined): never {
  throw new Error(`proxy-process: unknown proxy ${String(kind)} (expected sticky or http-proxy)`)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
