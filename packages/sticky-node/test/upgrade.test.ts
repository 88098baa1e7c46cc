import { createServer, type IncomingMessage, type Server } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { deadPort, withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import WebSocket, { WebSocketServer } from 'ws'
import type { ProxyResponseEvent } from '../src/proxy'
import { rawClient } from './_raw'
import { listenProxy } from './_server'
import { EventLog, once, rawUpstream, until } from './_upstream'

/** A WebSocket backend that greets with its name and echoes every message prefixed by it. */
interface WsBackend {
  readonly name: string
  readonly address: string
  readonly server: Server
  /** The server-side sockets, to close from the backend's end. */
  readonly clients: Set<WebSocket>
  /** Close codes the backend received. */
  readonly closes: number[]
  close(): Promise<void>
}

async function wsBackend(name: string): Promise<WsBackend> {
  const server = createServer((_req, res) => res.writeHead(426).end('upgrade required'))
  const wss = new WebSocketServer({ noServer: true })
  const clients = new Set<WebSocket>()
  const closes: number[] = []
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    if (req.url === '/forbidden') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws)
      ws.on('close', (code) => {
        closes.push(code)
        clients.delete(ws)
      })
      ws.on('message', (data) => ws.send(`${name}:${String(data)}`))
      ws.send(`hello from ${name}`)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    name,
    address: `127.0.0.1:${port}`,
    server,
    clients,
    closes,
    async close() {
      for (const ws of clients) ws.terminate()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      wss.close()
      await closed
    },
  }
}

/** A connected client, the cookie its handshake set, and its first message. */
interface Connected {
  readonly ws: WebSocket
  readonly setCookie: string | undefined
  readonly greeting: string
}

function openWs(url: string, cookie?: string): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, cookie === undefined ? {} : { headers: { cookie } })
    let setCookie: string | undefined
    ws.once('upgrade', (res: IncomingMessage) => {
      setCookie = res.headers['set-cookie']?.find((c) => c.startsWith('route='))?.split(';')[0]
    })
    ws.once('message', (data) => resolve({ ws, setCookie, greeting: String(data) }))
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res: IncomingMessage) => reject(new Error(`unexpected ${res.statusCode}`)))
  })
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once('message', (data) => resolve(String(data))))
}

/** Resolves with the status of a refused WebSocket handshake. */
function refusedStatus(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    ws.once('open', () => {
      ws.terminate()
      reject(new Error('the handshake was accepted'))
    })
    ws.once('error', () => undefined)
    ws.once('unexpected-response', (req, res: IncomingMessage) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => {
        req.destroy()
        resolve({ status: res.statusCode ?? 0, body })
      })
    })
  })
}

const upgrade = suite('createStickyProxy: upgrade')

upgrade('should pin WebSocket clients by cookie: two clients, two cookies, two backends', () =>
  withScope(async (scope) => {
    const b1 = scope.defer(await wsBackend('b1'), (b) => b.close())
    const b2 = scope.defer(await wsBackend('b2'), (b) => b.close())
    const proxy = scope.defer(await listenProxy({ peers: [b1.address, b2.address] }), (p) => p.close())
    const wsUrl = proxy.url.replace('http:', 'ws:')
    const a = await openWs(wsUrl)
    scope.defer(a.ws, (ws) => ws.terminate())
    const b = await openWs(wsUrl)
    scope.defer(b.ws, (ws) => ws.terminate())
    assert.ok(a.setCookie && b.setCookie, 'each handshake sets the sticky cookie')
    assert.is.not(a.greeting, b.greeting, 'round robin spreads the two new clients')
    const nameOf = (greeting: string): string => greeting.replace('hello from ', '')

    a.ws.send('ping')
    assert.is(await nextMessage(a.ws), `${nameOf(a.greeting)}:ping`, 'messages go through the tunnel both ways')

    for (const first of [a, b]) {
      for (let i = 0; i < 3; i += 1) {
        const again = await openWs(wsUrl, first.setCookie)
        try {
          assert.is(again.greeting, first.greeting, 'the cookie pins the reconnection')
          assert.is(again.setCookie, undefined, 'a hit sets no cookie (refresh: assign)')
        } finally {
          again.ws.terminate()
        }
      }
    }
  }),
)

upgrade('should propagate a close from either side', () =>
  withScope(async (scope) => {
    const b1 = scope.defer(await wsBackend('b1'), (b) => b.close())
    const log = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(await listenProxy({ peers: [b1.address], onResponse: log.push }), (p) => p.close())
    const wsUrl = proxy.url.replace('http:', 'ws:')

    const client = await openWs(wsUrl)
    scope.defer(client.ws, (ws) => ws.terminate())
    client.ws.close(4000, 'client leaves')
    await once(client.ws, 'close')
    await until(() => b1.closes.length > 0, 'the backend to see the close')
    assert.equal(b1.closes, [4000], 'the backend saw the client close')
    const [tunnel] = await log.first(1)
    assert.is(tunnel?.upgrade, true, 'the tunnel is reported once it is over')
    assert.is(tunnel?.status, 101)
    assert.is(tunnel?.error, undefined)
    assert.is(tunnel?.peer?.id, b1.address)

    const other = await openWs(wsUrl)
    scope.defer(other.ws, (ws) => ws.terminate())
    const closed = new Promise<number>((resolve) => other.ws.once('close', (code: number) => resolve(code)))
    for (const ws of b1.clients) ws.close(4001, 'server leaves')
    assert.is(await closed, 4001, 'the client saw the backend close')

    // Once both tunnels are closed, the proxy holds no connection to the backend.
    const count = (): Promise<number> => new Promise((resolve) => b1.server.getConnections((_e, n) => resolve(n)))
    await until(async () => (await count()) === 0, 'the tunnels to close')
    assert.is(await count(), 0)
  }),
)

upgrade('should answer 502 on the raw socket when there is no peer', () =>
  withScope(async (scope) => {
    const dead = `127.0.0.1:${await deadPort()}`
    const log = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(await listenProxy({ peers: [dead], onResponse: log.push }), (p) => p.close())
    const refused = await refusedStatus(proxy.url.replace('http:', 'ws:'))
    assert.is(refused.status, 502)
    assert.match(refused.body, /^502 Bad Gateway/)
    const [event] = await log.first(1)
    assert.is(event?.upgrade, true)
    assert.is(event?.status, 502)
    assert.is(event?.error, 'connect')
  }),
)

upgrade('should relay a refused upgrade as the backend answered it', () =>
  withScope(async (scope) => {
    const b1 = scope.defer(await wsBackend('b1'), (b) => b.close())
    const proxy = scope.defer(await listenProxy({ peers: [b1.address] }), (p) => p.close())
    const refused = await refusedStatus(`${proxy.url.replace('http:', 'ws:')}/forbidden`)
    assert.is(refused.status, 403)
    assert.is(refused.body, 'nope')
  }),
)

upgrade('should retry the handshake of a client pinned to a dead peer and re-pin it', () =>
  withScope(async (scope) => {
    const b1 = scope.defer(await wsBackend('b1'), (b) => b.close())
    const dead = `127.0.0.1:${await deadPort()}`
    const proxy = scope.defer(await listenProxy({ peers: [dead, b1.address] }), (p) => p.close())
    const balancer = proxy.proxy.balancer
    const [deadPeer, livePeer] = balancer.peers
    if (deadPeer === undefined || livePeer === undefined) throw new Error('peers not configured')
    const client = await openWs(proxy.url.replace('http:', 'ws:'), `route=${balancer.cookieValue(deadPeer)}`)
    scope.defer(client.ws, (ws) => ws.terminate())
    assert.is(client.greeting, 'hello from b1')
    assert.is(client.setCookie, `route=${balancer.cookieValue(livePeer)}`)
  }),
)

upgrade('should tunnel any HTTP Upgrade, including bytes sent with the request head', () =>
  withScope(async (scope) => {
    // An "echo" protocol: after the 101, the backend answers every byte it reads.
    const server = createServer()
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\nX-Seen-Upgrade: ${req.headers.upgrade}\r\n\r\n`)
      if (head.length > 0) socket.write(head)
      socket.pipe(socket)
      socket.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    scope.defer(server, (s) => new Promise<void>((resolve) => (s.closeAllConnections(), s.close(() => resolve()))))
    const { port } = server.address() as AddressInfo
    const proxy = scope.defer(await listenProxy({ peers: [`127.0.0.1:${port}`] }), (p) => p.close())

    const socket = connect(proxy.port, '127.0.0.1')
    scope.defer(socket, (s) => void s.destroy())
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (c: string) => (text += c))
    socket.write('GET /tunnel HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly-bytes;')
    await until(() => text.includes('early-bytes;'), 'the early bytes to come back')
    socket.write('later-bytes')
    await until(() => text.includes('later-bytes'), 'the later bytes to come back')
    assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/)
    assert.match(text, /\r\nUpgrade: echo\r\n/)
    assert.match(text, /\r\nX-Seen-Upgrade: echo\r\n/)
    assert.match(text, /\r\nSet-Cookie: route=[0-9a-f]{32}; Path=\/\r\n/)
    assert.ok(text.endsWith('\r\n\r\nearly-bytes;later-bytes'), JSON.stringify(text))
  }),
)

const refusedUpgrades: ReadonlyArray<{ name: string; head: string; status: number }> = [
  { name: 'a body framed by Content-Length', head: 'Content-Length: 5\r\n\r\nhello', status: 400 },
  { name: 'a chunked body', head: 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 400 },
  { name: 'two Host headers', head: 'Host: evil\r\n\r\n', status: 400 },
]
for (const { name, head, status } of refusedUpgrades) {
  upgrade(`should refuse an upgrade request with ${name} (${status}) without asking or blaming the peer`, () =>
    withScope(async (scope) => {
      // A peer that would wait for the body forever: the handshake must never reach it.
      const peer = scope.defer(await rawUpstream(() => undefined), (u) => u.close())
      const log = new EventLog<ProxyResponseEvent>()
      const proxy = scope.defer(await listenProxy({ peers: [peer.address], onResponse: log.push, proxy: { timeout: 2_000 } }), (p) => p.close())
      const [only] = proxy.proxy.balancer.peers
      if (only === undefined) throw new Error('peers not configured')
      const cookie = `route=${proxy.proxy.balancer.cookieValue(only)}`
      const client = scope.defer(await rawClient(proxy.port), (c) => c.close())
      const answer = await client.exchange(`GET /ws HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${head}`)
      assert.is(answer.status, status)
      await client.closed()
      const [event] = await log.first(1)
      assert.is(event?.upgrade, true)
      assert.is(event?.status, status)
      assert.is(event?.error, 'rejected')
      assert.is(event?.attempts, 0)
      assert.is(peer.connections, 0)
      assert.is(proxy.proxy.balancer.decide(cookie).outcome, 'hit')
    }),
  )
}

upgrade.run()
