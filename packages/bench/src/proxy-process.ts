// Child process of http.bench.ts and reliability-measure.ts: the proxy under test, alone in its process
// so that its memory and its event loop are its own. argv: `sticky` | `sticky-observed` | `http-proxy`,
// then the backend ports as JSON. `sticky-observed` is `sticky` with an `onResponse` that tallies every
// exchange (answered by `observed`), as a deployment's metrics hook would.
import { Agent, createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import httpProxy from 'http-proxy'
import { createStickyProxy, type ProxyResponseEvent } from 'sticky-node'
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

/** What `observed` answers: every exchange the proxy finished since it started, as `onResponse` saw it. */
export interface Observed {
  /** Exchanges finished. */
  readonly total: number
  /** Exchanges by `<status> <outcome> attempts=<n>[ error=<error>]`. */
  readonly tallies: Readonly<Record<string, number>>
  /** The exchanges that were not a plain first-attempt answer (status not 2xx, an error, or more than one attempt), oldest first. */
  readonly notable: readonly ObservedExchange[]
  /** Notable exchanges not kept, past {@link NOTABLE_KEPT}. */
  readonly notableDropped: number
}

/** One exchange as `onResponse` reported it. */
export interface ObservedExchange {
  /** `Date.now()` when the exchange ended. */
  readonly at: number
  readonly status: number
  readonly outcome: string
  readonly error: string | undefined
  readonly attempts: number
  /** The peer that answered, or the last one tried. */
  readonly peer: string | null
  readonly durationMs: number
}

/** How many notable exchanges `sticky-observed` keeps: the tallies count every one. */
export const NOTABLE_KEPT = 2_000

const SAMPLE_MS = 5
const gc = (globalThis as { gc?: () => void }).gc

function collect(): ProxyMemory {
  if (gc === undefined) throw new Error('proxy-process needs --expose-gc')
  gc()
  gc()
  const { rss, heapUsed } = process.memoryUsage()
  return { rss, heapUsed }
}

const observed = { total: 0, tallies: {} as Record<string, number>, notable: [] as ObservedExchange[], notableDropped: 0 }

function observe(event: ProxyResponseEvent): void {
  const { status, decision, error, attempts, peer, durationMs } = event
  observed.total += 1
  const key = `${status} ${decision.outcome} attempts=${attempts}${error === undefined ? '' : ` error=${error}`}`
  observed.tallies[key] = (observed.tallies[key] ?? 0) + 1
  if (status >= 200 && status < 300 && error === undefined && attempts <= 1) return
  if (observed.notable.length >= NOTABLE_KEPT) {
    observed.notableDropped += 1
    return
  }
  observed.notable.push({ at: Date.now(), status, outcome: decision.outcome, error, attempts, peer: peer?.id ?? null, durationMs })
}

function stickyServer(ports: readonly number[], observing: boolean): { server: Server; close: () => void } {
  const proxy = createStickyProxy({ peers: ports.map((p) => `127.0.0.1:${p}`), ...(observing ? { onResponse: observe } : {}) })
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
  const { server, close } =
    kind === 'sticky' || kind === 'sticky-observed'
      ? stickyServer(ports, kind === 'sticky-observed')
      : kind === 'http-proxy'
        ? classicServer(ports)
        : fail(kind)
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
      observed: (): Observed => observed,
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
  throw new Error(`proxy-process: unknown proxy ${String(kind)} (expected sticky, sticky-observed or http-proxy)`)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
