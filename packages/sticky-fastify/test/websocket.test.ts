import { createServer } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, Server } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { StickyConfigError } from 'sticky-core'
import { CookieJar, deadPort, send, withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import WebSocket, { WebSocketServer } from 'ws'
import type { RawData } from 'ws'
import { stickyProxy } from '../src/index'
import type { FastifyResponseEvent } from '../src/index'
import { createApp, listen } from './_app'
import { recordingBalancer } from './_balancer'

const test = suite('stickyProxy: websocket')

/** A hang guard: far beyond what any step here needs, so that only a hang trips it. */
const GUARD_MS = 10_000

interface Closed {
  readonly code: number
  readonly reason: string
}

/** A real HTTP and `ws` backend that names itself in every answer and records what it saw. */
interface WsBackend {
  readonly name: string
  readonly address: string
  /** The upgrade requests that reached it, accepted or not. */
  readonly upgrades: IncomingHttpHeaders[]
  readonly urls: string[]
  /** How each accepted WebSocket ended, as the backend saw it. */
  readonly closes: Closed[]
  /** Resolves with the next close the backend sees. */
  nextClose(): Promise<Closed>
  close(): Promise<void>
}

/**
 * Answers HTTP with `x-backend: <name>`; accepts WebSockets (refusing `/forbidden` with 403), says
 * `hello <name> <subprotocol>`, echoes every message back as it came (text as `<name>:<text>`,
 * binary unchanged), and closes with the code and reason a text `close <code> <reason>` asks for.
 */
async function startWsBackend(name: string): Promise<WsBackend> {
  const upgrades: IncomingHttpHeaders[] = []
  const urls: string[] = []
  const closes: Closed[] = []
  const waiting: Array<(closed: Closed) => void> = []
  const server: Server = createServer((_req, res) => {
    res.setHeader('x-backend', name)
    res.end(name)
  })
  const wss = new WebSocketServer({
    server,
    verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => {
      upgrades.push(info.req.headers)
      urls.push(info.req.url ?? '')
      if (info.req.url?.startsWith('/forbidden') === true) done(false, 403, 'not you', { 'x-backend': name })
      else done(true)
    },
    handleProtocols: (protocols: Set<string>) => (protocols.has('chat') ? 'chat' : false),
  })
  wss.on('connection', (ws) => {
    ws.send(`hello ${name} ${ws.protocol}`)
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        ws.send(data, { binary: true })
        return
      }
      const text = String(data)
      const close = /^close (\d+) (.*)$/.exec(text)
      if (close !== null) ws.close(Number(close[1]), close[2])
      else ws.send(`${name}:${text}`)
    })
    ws.on('close', (code: number, reason: Buffer) => {
      const closed = { code, reason: String(reason) }
      closes.push(closed)
      waiting.shift()?.(closed)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    name,
    address: `127.0.0.1:${port}`,
    upgrades,
    urls,
    closes,
    nextClose: () => new Promise((resolve) => waiting.push(resolve)),
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A TCP server that takes connections and never answers a byte. */
async function startSilentPeer(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createNetServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    address: `127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** A client WebSocket with everything it received queued, read one at a time. */
interface Client {
  readonly ws: WebSocket
  /** The 101's header fields. */
  readonly headers: IncomingHttpHeaders
  next(): Promise<{ data: Buffer; binary: boolean }>
  nextText(): Promise<string>
  closed(): Promise<Closed>
}

/** What a refused upgrade got: the status and the response's fields and body. */
interface Refused {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** Opens a WebSocket through the proxy; resolves with the client, or with the refusal. */
function connect(
  url: string,
  options: { cookie?: string | undefined; protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<Client | Refused> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.cookie !== undefined) headers['cookie'] = options.cookie
  const ws = new WebSocket(url.replace(/^http/, 'ws'), options.protocols ?? [], { headers })
  const queue: Array<{ data: Buffer; binary: boolean }> = []
  const readers: Array<(m: { data: Buffer; binary: boolean }) => void> = []
  ws.on('message', (data: RawData, binary: boolean) => {
    const message = { data: Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]), binary }
    const reader = readers.shift()
    if (reader !== undefined) reader(message)
    else queue.push(message)
  })
  const closed = new Promise<Closed>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: String(reason) })))
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      ws.terminate()
      reject(new Error(`no handshake answer in ${GUARD_MS} ms`))
    }, GUARD_MS)
    let upgradeHeaders: IncomingHttpHeaders = {}
    ws.once('upgrade', (res: IncomingMessage) => (upgradeHeaders = res.headers))
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        clearTimeout(guard)
        ws.terminate()
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() })
      })
    })
    ws.once('error', (error) => {
      clearTimeout(guard)
      reject(error)
    })
    ws.once('open', () => {
      clearTimeout(guard)
      const next = (): Promise<{ data: Buffer; binary: boolean }> => {
        const queued = queue.shift()
        if (queued !== undefined) return Promise.resolve(queued)
        return withGuard(new Promise((r) => readers.push(r)), 'a message')
      }
      resolve({
        ws,
        headers: upgradeHeaders,
        next,
        nextText: async () => String((await next()).data),
        closed: () => withGuard(closed, 'the close'),
      })
    })
  })
}

function withGuard<T>(promise: Promise<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`no ${what} in ${GUARD_MS} ms`)), GUARD_MS)
    promise.then(
      (value) => {
        clearTimeout(guard)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(guard)
        reject(error as Error)
      },
    )
  })
}

function open(result: Client | Refused): Client {
  if ('ws' in result) return result
  throw new Error(`expected a 101, got ${result.status} ${result.body}`)
}

function refused(result: Client | Refused): Refused {
  if ('ws' in result) {
    result.ws.terminate()
    throw new Error('expected a refusal, got a 101')
  }
  return result
}

/** The `route` cookie pair a `Set-Cookie` list carries, or undefined. */
function routeCookie(headers: IncomingHttpHeaders): string | undefined {
  const line = (headers['set-cookie'] ?? []).find((l) => l.startsWith('route='))
  return line?.split(';')[0]
}

async function waitUntil(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < GUARD_MS / 10; i++) {
    if (check()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`${what}: not within ${GUARD_MS} ms`)
}

test('should pin upgrades by the cookie of an earlier HTTP response, and give a new client the cookie on its 101', () =>
  withScope(async (scope) => {
    const a = await startWsBackend('a')
    scope.defer(a, () => a.close())
    const b = await startWsBackend('b')
    scope.defer(b, () => b.close())
    const { balancer, cookieFor } = recordingBalancer({ peers: [a.address, b.address] })
    const app = scope.defer(createApp(), (x) => x.close())
    await app.register(stickyProxy, { balancer, prefix: '/app', websocket: true })
    const url = await listen(app)

    const jar = new CookieJar()
    const first = await send(url, { path: '/app/page', jar })
    const pinnedTo = first.headers['x-backend']
    assert.ok(pinnedTo === 'a' || pinnedTo === 'b', 'the HTTP response came from a backend')
    const client = open(await connect(`${url}/app/chat?room=1`, { cookie: jar.header() }))
    scope.defer(client, (c) => c.ws.terminate())
    assert.is(await client.nextText(), `hello ${pinnedTo} `)
    for (let i = 0; i < 5; i++) {
      client.ws.send(`m${i}`)
      assert.is(await client.nextText(), `${pinnedTo}:m${i}`, 'every message reaches the pinned backend')
    }
    assert.is(routeCookie(client.headers), undefined, 'a pinned client gets no new cookie')
    const pinned = pinnedTo === 'a' ? a : b
    assert.equal(pinned.urls, ['/chat?room=1'], 'the prefix is stripped and the query kept')
    assert.equal((pinnedTo === 'a' ? b : a).upgrades.length, 0)

    const fresh = open(await connect(`${url}/app/chat`))
    scope.defer(fresh, (c) => c.ws.terminate())
    const hello = await fresh.nextText()
    const cookie = routeCookie(fresh.headers)
    assert.ok(cookie !== undefined, 'the 101 carries Set-Cookie for a new client')
    assert.is(cookie, cookieFor(hello === 'hello a ' ? 0 : 1), 'the cookie names the backend that answered')
  }))

test('should pin upgrades by the header carrier for clients without cookies, and name the pin on the 101', () =>
  withScope(async (scope) => {
    const a = await startWsBackend('a')
    scope.defer(a, () => a.close())
    const b = await startWsBackend('b')
    scope.defer(b, () => b.close())
    const app = scope.defer(createApp(), (x) => x.close())
    await app.register(stickyProxy, { peers: [a.address, b.address], header: 'X-Sticky-Route', websocket: true })
    const url = await listen(app)

    const fresh = open(await connect(`${url}/chat`))
    scope.defer(fresh, (c) => c.ws.terminate())
    const hello = await fresh.nextText()
    const pin = fresh.headers['x-sticky-route']
    assert.ok(typeof pin === 'string' && pin.length > 0, 'the 101 names the pin in the header carrier')
    for (let i = 0; i < 3; i++) {
      const again = open(await connect(`${url}/chat`, { headers: { 'x-sticky-route': pin as string } }))
      scope.defer(again, (c) => c.ws.terminate())
      assert.is(await again.nextText(), hello, 'the header alone pins the upgrade')
      assert.is(again.headers['x-sticky-route'], undefined, 'a pinned client gets no new pin')
    }
  }))

test('should relay text and binary messages as they are, the subprotocol, and the fields a backend needs', () =>
  withScope(async (scope) => {
    const a = await startWsBackend('a')
    scope.defer(a, () => a.close())
    const app = scope.defer(createApp(), (x) => x.close())
    await app.register(stickyProxy, { peers: [a.address], websocket: true, proxy: { trustProxy: 'loopback' } })
    const url = await listen(app)

    const client = open(
      await connect(`${url}/ws`, {
        protocols: ['other', 'chat'],
        cookie: 'session=s1',
        headers: { authorization: 'Bearer t', origin: 'https://site.example', 'x-forwarded-for': '203.0.113.9' },
      }),
    )
    scope.defer(client, (c) => c.ws.terminate())
    assert.is(client.ws.protocol, 'chat', "the backend's choice of subprotocol reaches the client")
    assert.is(await client.nextText(), 'hello a chat')
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff])
    client.ws.send(bytes, { binary: true })
    const binary = await client.next()
    assert.ok(binary.binary, 'binary stays binary')
    assert.equal([...binary.data], [...bytes])
    client.ws.send('héllo ✓')
    const text = await client.next()
    assert.not.ok(text.binary, 'text stays text')
    assert.is(String(text.data), 'a:héllo ✓')
    const big = Buffer.alloc(3 * 1024 * 1024, 7)
    client.ws.send(big, { binary: true })
    const echoed = await client.next()
    assert.ok(echoed.data.equals(big), 'a message larger than the pause threshold arrives whole')

    const seen = a.upgrades[0]
    assert.ok(seen !== undefined)
    assert.is(seen['cookie'], 'session=s1')
    assert.is(seen['authorization'], 'Bearer t')
    assert.is(seen['origin'], 'https://site.example')
    assert.is(seen['x-forwarded-for'], '203.0.113.9, 127.0.0.1')
    assert.is(seen['x-forwarded-proto'], 'http')
    assert.is(seen['host'], a.address, 'Host names the peer')
    assert.is(seen['x-forwarded-host'], new URL(url).host)
    assert.is(seen['sec-websocket-protocol'], 'other,chat')
  }))

test('should carry close codes and reasons both ways', () =>
  withScope(async (scope) => {
    const a = await startWsBackend('a')
    scope.defer(a, () => a.close())
    const app = scope.defer(createApp(), (x) => x.close())
    await app.register(stickyProxy, { peers: [a.address], websocket: true })
    const url = await listen(app)

    const byBackend = open(await connect(`${url}/ws`))
    await byBackend.nextText()
    byBackend.ws.send('close 4001 backend says bye')
    assert.equal(await byBackend.closed(), { code: 4001, reason: 'backend says bye' })

    const byClient = open(await connect(`${url}/ws`))
    await byClient.nextText()
    const backendSees = a.nextClose()
    byClient.ws.close(4002, 'client says bye')
    assert.equal(await withGuard(backendSees, 'the backend close'), { code: 4002, reason: 'client says bye' })
    assert.equal(await byClient.closed(), { code: 4002, reason: 'client says bye' })

    const noCode = open(await connect(`${url}/ws`))
    await noCode.nextText()
    const backendSeesNone = a.nextClose()
    noCode.ws.close()
    assert.is((await withGuard(backendSeesNone, 'the backend close')).code, 1000, 'no code (1005) is sent on as 1000')
  }))

test('should re-pin a client whose pinned peer is dead, and report that peer failed', () =>
  withScope(async (scope) => {
    const live = await startWsBackend('live')
    scope.defer(live, () => live.close())
    const { balancer, reports, cookieFor, peer } = recordingBalancer({ peers: [`127.0.0.1:${await deadPort()}`, live.address] })
    const events: FastifyResponseEvent[] = []
    const app = scope.defer(createApp(), (x) => x.close())
    await app.register(stickyProxy, { balancer, websocket: true, onResponse: (event) => events.push(event) })
    const url = await listen(app)

    const client = open(await connect(`${url}/ws`, { cookie: cookieFor(0) }))
    assert.is(await client.nextText(), 'hello live ')
    assert.is(routeCookie(client.headers), cookieFor(1), 'the new cookie names the live peer')
    assert.equal(reports, [
      [peer(0).address, false],
      [peer(1).address, true],
    ])
    client.ws.close(1000)
    await client.closed()
    await waitUntil('the upgrade event', () => events.length === 1)
    const event = events[0]
    assert.ok(event?.upgrade === true)
    assert.is(event.status, 101)
    assert.is(event.attempts, 2)
    assert.is(event.outcome, 'repinned')
    assert.is(event.peer?.address, peer(1).address)
    assert.is(event.path, '/ws')
    assert.is(event.error, undefined)
  }))

test("should relay a peer's refusal of the upgrade (403) and not blame it", () =>
  withScope(async (scope) => {
    const a = await startWsBackend('a')
    scope.defer(a, () => a.close())
    const { balancer, reports, peer } = recordingBalancer({ peers: [a.address] })
    const events: FastifyResponseEvent[] = []
    const app = scope.defer(createApp(), (x) => x.close())
    await app.register(stickyProxy, { balancer, websocket: true, onResponse: (event) => events.push(event) })
    const url = await listen(app)

    const answer = refused(await connect(`${url}/forbidden`))
    assert.is(answer.status, 403)
    assert.is(answer.body, 'not you')
    assert.is(answer.headers['x-backend'], 'a', "the peer's own answer")
    assert.ok(routeCookie(answer.headers) !== undefined, "the balancer's cookie rides on the relayed answer")
    assert.equal(reports, [[peer(0).address, true]], 'the peer answered: credited, never blamed')
    await waitUntil('the upgrade event', () => events.length === 1)
    assert.is(events[0]?.status, 403)
    assert.is(events[0]?.upgrade, true)
  }))

test('should name the request id on the 101, on a relayed refusal and on an answer of its own, as the peer saw it', () =>
  withScope(async (scope) => {
    const a = await startWsBackend('a')
    scope.defer(a, () => a.close())
    const events: FastifyResponseEvent[] = []
    const app = scope.defer(createApp(), (x) => x.close())
    await app.register(stickyProxy, { peers: [a.address], websocket: true, proxy: { requestId: true }, onResponse: (event) => events.push(event) })
    const url = await listen(app)

    const client = open(await connect(`${url}/ws`, { headers: { 'x-request-id': 'forged' } }))
    scope.defer(client, (c) => c.ws.terminate())
    const sent = a.upgrades[0]?.['x-request-id']
    assert.ok(typeof sent === 'string' && sent !== 'forged', "an untrusted client's id is replaced")
    assert.is(client.headers['x-request-id'], sent, 'the 101 names the id the peer got')
    client.ws.close()
    await waitUntil('the upgrade event', () => events.length === 1)
    assert.is(events[0]?.requestId, sent)

    const relayed = refused(await connect(`${url}/forbidden`))
    assert.is(relayed.status, 403)
    assert.is(relayed.headers['x-request-id'], a.upgrades[1]?.['x-request-id'], 'the relayed refusal names it too')

    const silent = await startSilentPeer()
    scope.defer(silent, () => silent.close())
    const other = scope.defer(createApp(), (x) => x.close())
    await other.register(stickyProxy, { peers: [silent.address], websocket: true, proxy: { timeout: 100, requestId: 'X-Trace', trustProxy: 'loopback' } })
    const own = refused(await connect(`${await listen(other)}/ws`, { headers: { 'x-trace': 'edge-7' } }))
    assert.is(own.status, 504)
    assert.is(own.headers['x-trace'], 'edge-7', "a trusted proxy's id, on the proxy's own answer")
  }))

test('should answer 504 when the peer stays silent past proxy.timeout, and blame it', () =>
  withScope(async (scope) => {
    const silent = await startSilentPeer()
    scope.defer(silent, () => silent.close())
    const { balancer, reports, peer } = recordingBalancer({ peers: [silent.address] })
    const app = scope.defer(createApp(), (x) => x.close())
    await app.register(stickyProxy, { balancer, websocket: true, proxy: { timeout: 200 } })
    const url = await listen(app)

    const answer = refused(await connect(`${url}/ws`))
    assert.is(answer.status, 504)
    assert.is(JSON.parse(answer.body).code, 'STICKY_UPSTREAM_TIMEOUT')
    assert.is(routeCookie(answer.headers), undefined, 'no cookie with the proxy’s own answer')
    assert.equal(reports, [[peer(0).address, false]])
  }))

test('should not blame the peer when the client leaves mid-connection, and close the peer side', () =>
  withScope(async (scope) => {
    const a = await startWsBackend('a')
    scope.defer(a, () => a.close())
    const { balancer, reports, peer } = recordingBalancer({ peers: [a.address] })
    const events: FastifyResponseEvent[] = []
    const app = scope.defer(createApp(), (x) => x.close())
    await app.register(stickyProxy, { balancer, websocket: true, onResponse: (event) => events.push(event) })
    const url = await listen(app)

    const client = open(await connect(`${url}/ws`))
    await client.nextText()
    const backendSees = a.nextClose()
    client.ws.terminate()
    const closed = await withGuard(backendSees, 'the backend close')
    assert.is(closed.code, 1011, 'an abnormal end (1006) is sent on as 1011')
    await waitUntil('the upgrade event', () => events.length === 1)
    assert.equal(reports, [[peer(0).address, true]], 'credited for its 101, never blamed')
    assert.is(events[0]?.status, 101)
  }))

test('should leave upgrades outside the prefix to the application', () =>
  withScope(async (scope) => {
    const a = await startWsBackend('a')
    scope.defer(a, () => a.close())
    const app = scope.defer(createApp(), (x) => x.close())
    await app.register(stickyProxy, { peers: [a.address], prefix: '/app', websocket: true })
    // The application's own WebSocket endpoint, beside the proxy.
    const own = new WebSocketServer({ noServer: true })
    own.on('connection', (ws) => ws.send('own endpoint'))
    app.server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
      if (req.url === '/other') own.handleUpgrade(req, socket, head, (ws) => own.emit('connection', ws, req))
    })
    app.addHook('onClose', (_instance, done) => {
      for (const ws of own.clients) ws.terminate()
      own.close(() => done())
    })
    const url = await listen(app)

    const mine = open(await connect(`${url}/other`))
    assert.is(await mine.nextText(), 'own endpoint')
    mine.ws.close()
    await mine.closed()
    assert.is(a.upgrades.length, 0, 'the proxy did not touch it')
    const proxied = open(await connect(`${url}/app/x`))
    assert.is(await proxied.nextText(), 'hello a ')
    proxied.ws.close()
    await proxied.closed()
  }))

test('should hand an upgrade outside the prefix to Fastify routes when no other listener wants it', () =>
  withScope(async (scope) => {
    const a = await startWsBackend('a')
    scope.defer(a, () => a.close())
    const app = scope.defer(createApp(), (x) => x.close())
    await app.register(stickyProxy, { peers: [a.address], prefix: '/app', websocket: true })
    app.get('/plain', async () => 'a plain route')
    const url = await listen(app)

    const answer = refused(await connect(`${url}/plain`))
    assert.is(answer.status, 200, "the application's route answered, as it would without the plugin")
    assert.is(answer.body, 'a plain route')
    assert.is(refused(await connect(`${url}/appx`)).status, 404, '/appx is not under /app')
    assert.is(a.upgrades.length, 0)
  }))

test('should close both sides of every proxied WebSocket when Fastify closes', () =>
  withScope(async (scope) => {
    const a = await startWsBackend('a')
    scope.defer(a, () => a.close())
    const app = createApp()
    await app.register(stickyProxy, { peers: [a.address], websocket: true })
    const url = await listen(app)

    const clients = [open(await connect(`${url}/one`)), open(await connect(`${url}/two`))]
    for (const client of clients) await client.nextText()
    await withGuard(app.close(), 'Fastify close')
    for (const client of clients) assert.is((await client.closed()).code, 1001)
    await waitUntil('the backend sees both closes', () => a.closes.length === 2)
    assert.equal(
      a.closes.map((c) => c.code),
      [1001, 1001],
    )
  }))

test('should refuse a websocket option that is not a boolean', async () => {
  const app = createApp()
  try {
    await app.register(stickyProxy, { peers: ['127.0.0.1:1'], websocket: 'yes' as unknown as boolean })
    assert.unreachable('register should reject')
  } catch (error) {
    assert.instance(error, StickyConfigError)
    assert.is((error as StickyConfigError).option, 'websocket')
    assert.match((error as Error).message, 'yes')
  } finally {
    await app.close()
  }
})

test.run()
