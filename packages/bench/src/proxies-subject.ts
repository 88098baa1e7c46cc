// Child process of the proxy comparison (proxies-measure.ts): one Node proxy, alone in its process so
// that its CPU time and memory can be read from /proc. argv: the kind (see `start`), the backend ports as
// JSON, then optionally a worker count and the port they share: more than one worker makes this process a
// node:cluster primary that only forks them (as `sticky-proxy --workers` does). Answers "ready" with the
// port it listens on. The comparison runs it bundled into plain JavaScript, without a TypeScript loader.
import cluster from 'node:cluster'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import replyFrom from '@fastify/reply-from'
import Fastify from 'fastify'
import httpProxy from 'http-proxy'
import { Agent } from 'node:http'
import { stickyProxy } from 'sticky-fastify'
import { createStickyFetch } from 'sticky-fetch'
import { createBareProxy } from './bare-proxy'
import { serveFetchOnNode } from './fetch-on-node'
import { serveParent } from './ipc'

interface Listening {
  readonly port: number
  close(): Promise<void>
}

function listenNode(server: Server, close: () => void, port = 0): Promise<Listening> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
            close()
          }),
      }),
    )
  })
}

function classic(ports: readonly number[]): Promise<Listening> {
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
  return listenNode(server, () => {
    proxy.close()
    agent.destroy()
  })
}

async function fastify(ports: readonly number[], sticky: boolean): Promise<Listening> {
  const app = Fastify({ logger: false })
  if (sticky) await app.register(stickyProxy, { peers: ports.map((p) => `127.0.0.1:${p}`) })
  else {
    // reply-from alone, as its users balance: an absolute URL per request, round robin, its undici agent.
    await app.register(replyFrom, {})
    let next = 0
    app.all('/*', (_request, reply) => {
      const port = ports[next]!
      next = (next + 1) % ports.length
      return reply.from(`http://127.0.0.1:${port}${_request.url}`)
    })
  }
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { port: (app.server.address() as AddressInfo).port, close: () => app.close() }
}

function start(kind: string, ports: readonly number[], port = 0): Promise<Listening> {
  switch (kind) {
    case 'bare': {
      const { server, close } = createBareProxy(ports)
      return listenNode(server, close, port)
    }
    case 'fetch-node': {
      // The pass-through Worker's code on Node: what the adapter and Node's fetch cost before sticky-fetch adds anything.
      const hosts = ports.map((p) => `127.0.0.1:${p}`)
      let next = 0
      const handler = (request: Request): Promise<Response> => {
        const url = new URL(request.url)
        url.host = hosts[next]!
        next = (next + 1) % hosts.length
        return fetch(url, request)
      }
      return listenNode(serveFetchOnNode(handler), () => undefined, port)
    }
    case 'sticky-fetch-node': {
      // What Node's own fetch (undici) costs under sticky-fetch, beside the bare proxy's node:http client.
      const handler = createStickyFetch({ peers: ports.map((p) => `127.0.0.1:${p}`) })
      return listenNode(serveFetchOnNode(handler), () => undefined, port)
    }
    case 'http-proxy':
      return classic(ports)
    case 'reply-from':
      return fastify(ports, false)
    case 'sticky-fastify':
      return fastify(ports, true)
    default:
      throw new Error(
        `proxies-subject: unknown proxy ${kind} (expected bare, http-proxy, reply-from, sticky-fastify, fetch-node or sticky-fetch-node; sticky-node runs as sticky-proxy)`,
      )
  }
}

/** The primary of `workers` processes sharing `port`: forks them, waits until each listens, stops them on close. */
async function primary(workers: number, port: number): Promise<Listening> {
  const forked = Array.from({ length: workers }, () => cluster.fork())
  await Promise.all(
    forked.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          worker.once('listening', () => resolve())
          worker.once('exit', (code) => reject(new Error(`a worker exited (${String(code)}) before listening`)))
        }),
    ),
  )
  return {
    port,
    close: () =>
      Promise.all(
        forked.map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) resolve()
              else {
                worker.once('exit', () => resolve())
                worker.kill()
              }
            }),
        ),
      ).then(() => undefined),
  }
}

async function main(): Promise<void> {
  const kind = process.argv[2] ?? ''
  const ports = JSON.parse(process.argv[3] ?? '[]') as number[]
  const workers = Number(process.argv[4] ?? '1')
  const port = Number(process.argv[5] ?? '0')
  if (workers > 1 && cluster.isWorker) {
    // A cluster worker serves and nothing else: the primary speaks to the benchmark.
    await start(kind, ports, port)
    return
  }
  const running = workers > 1 ? await primary(workers, port) : await start(kind, ports, port)
  serveParent({}, { port: running.port }, () => running.close())
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
