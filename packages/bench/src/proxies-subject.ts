// Child process of the proxy comparison (proxies-measure.ts): one Node proxy, alone in its process so
// that its CPU time and memory can be read from /proc. argv: the kind (see NODE_PROXIES), then the
// backend ports as JSON. Answers "ready" with the port it listens on.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import replyFrom from '@fastify/reply-from'
import Fastify from 'fastify'
import httpProxy from 'http-proxy'
import { Agent } from 'node:http'
import { createStickyProxy } from 'sticky-node'
import { stickyProxy } from 'sticky-fastify'
import { createBareProxy } from './bare-proxy'
import { serveParent } from './ipc'

interface Listening {
  readonly port: number
  close(): Promise<void>
}

function listenNode(server: Server, close: () => void): Promise<Listening> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () =>
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

function start(kind: string, ports: readonly number[]): Promise<Listening> {
  switch (kind) {
    case 'bare': {
      const { server, close } = createBareProxy(ports)
      return listenNode(server, close)
    }
    case 'http-proxy':
      return classic(ports)
    case 'reply-from':
      return fastify(ports, false)
    case 'sticky-fastify':
      return fastify(ports, true)
    case 'sticky-node': {
      const proxy = createStickyProxy({ peers: ports.map((p) => `127.0.0.1:${p}`) })
      const server = createServer(proxy)
      server.on('upgrade', proxy.upgrade)
      return listenNode(server, () => proxy.close())
    }
    default:
      throw new Error(`proxies-subject: unknown proxy ${kind} (expected bare, http-proxy, reply-from, sticky-node or sticky-fastify)`)
  }
}

async function main(): Promise<void> {
  const running = await start(process.argv[2] ?? '', JSON.parse(process.argv[3] ?? '[]') as number[])
  serveParent({}, { port: running.port }, () => running.close())
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
