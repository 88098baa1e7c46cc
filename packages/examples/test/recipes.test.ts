// The recipes of packages/examples/recipes, compiled and run: each one in front of real backends on
// 127.0.0.1, driven by clients that keep cookies as a browser does. Every stickiness check names the
// backend that answered, so a proxy that forgot its pins would fail them.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { md5 } from 'sticky-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { serve } from '@hono/node-server'
import { start as startExpress } from '../recipes/express'
import { createApp as createHonoApp } from '../recipes/hono'
import { start as startNodeFetchServer } from '../recipes/node-fetch-server'
import { startBackend as startSocketBackend, startProxy as startSocketProxy } from '../recipes/socket-io'
import type { SocketBackend } from '../recipes/socket-io'
import { io as connect } from 'socket.io-client'
import type { Socket } from 'socket.io-client'
import { Browser, closeServer, startBackends } from './_backends'
import type { Backend } from './_backends'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const Types = suite('recipes type-check under strict TypeScript')

// The Node recipes against Node's types; Bun's and Deno's against their runtime's own (they cannot run here).
for (const project of ['recipes/tsconfig.json', 'recipes/bun/tsconfig.json', 'recipes/deno/tsconfig.json']) {
  Types(`should type-check ${project}`, () => {
    const tsc = require.resolve('typescript/bin/tsc')
    const run = spawnSync(process.execPath, [tsc, '-p', project, '--noEmit', '--pretty', 'false'], { cwd: join(__dirname, '..'), encoding: 'utf8' })
    assert.is(run.status, 0, `${run.stdout}${run.stderr}`)
  })
}

Types.run()

/** The cookie value that pins to a backend: the md5 of its address, as nginx writes it. */
const pinTo = (backend: Backend): string => md5(backend.address)

const Express = suite('recipe: Express with sticky-node as middleware')

Express('should pin each browser to one backend for every request under /api', async () => {
  const backends = await startBackends(2)
  const app = await startExpress({ peers: backends.map((b) => b.address) })
  try {
    // Express strips the mount path: /api/users reaches the backend as /users.
    await assertEachBrowserPinned(app.url, backends, (rest) => rest)
  } finally {
    await app.close()
    await Promise.all(backends.map((b) => b.close()))
  }
})

Express('should stream request bodies to the pinned backend and leave the app routes to Express', async () => {
  const backends = await startBackends(2)
  const app = await startExpress({ peers: backends.map((b) => b.address) })
  try {
    const browser = new Browser()
    const pinned = (await browser.seen(`${app.url}/api/`)).backend
    const posted = await browser.seen(`${app.url}/api/orders`, { method: 'POST', body: '{"item":42}', headers: { 'content-type': 'application/json' } })
    assert.equal([posted.backend, posted.method, posted.url, posted.body], [pinned, 'POST', '/orders', '{"item":42}'])
    // The app's own routes are not proxied: no backend, no sticky cookie, and its JSON parser works.
    const health = await fetch(`${app.url}/health`)
    assert.equal(await health.json(), { ok: true })
    assert.is(health.headers.get('set-cookie'), null)
    const echo = await fetch(`${app.url}/echo`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } })
    assert.equal(await echo.json(), { echoed: { a: 1 } })
  } finally {
    await app.close()
    await Promise.all(backends.map((b) => b.close()))
  }
})

Express.run()

/**
 * Two new browsers go to two different backends (round robin), each gets the cookie naming its own,
 * and then every request of each reaches that backend and no other. `path` is where a request under
 * the proxied prefix lands on the backend.
 */
async function assertEachBrowserPinned(base: string, backends: readonly Backend[], path: (rest: string) => string): Promise<void> {
  const alice = new Browser()
  const bob = new Browser()
  const first = await alice.seen(`${base}/api/users?page=1`)
  const other = await bob.seen(`${base}/api/users?page=1`)
  assert.is(first.url, path('/users?page=1'))
  assert.is.not(first.backend, other.backend)
  assert.is(alice.cookies.get('route'), pinTo(backends.find((b) => b.id === first.backend)!))
  assert.is(bob.cookies.get('route'), pinTo(backends.find((b) => b.id === other.backend)!))
  // One browser after the other (interleaved, a proxy that ignored the cookie and alternated would pass).
  for (const [browser, backend] of [
    [alice, first.backend],
    [bob, other.backend],
  ] as const) {
    for (let i = 0; i < 6; i++) {
      const method = i % 2 === 0 ? 'GET' : 'POST'
      const body = method === 'POST' ? `step ${i}` : null
      const seen = await browser.seen(`${base}/api/step/${i}`, { method, body })
      assert.equal([seen.backend, seen.method, seen.url, seen.body], [backend, method, path(`/step/${i}`), body ?? ''], `request ${i}`)
    }
  }
}

const HonoRecipe = suite('recipe: Hono with sticky-fetch in a route, on @hono/node-server')

HonoRecipe('should pin each browser to one backend for every request under /api/', async () => {
  const backends = await startBackends(2)
  const server = serve({ fetch: createHonoApp(backends.map((b) => b.origin)).fetch, port: 0, hostname: '127.0.0.1' }) as Server
  await new Promise((resolve) => server.once('listening', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  try {
    await assertEachBrowserPinned(base, backends, (rest) => `/api${rest}`)
    // Hono's own route is not proxied.
    const health = await fetch(`${base}/health`)
    assert.equal(await health.json(), { ok: true })
    assert.is(health.headers.get('set-cookie'), null)
  } finally {
    await closeServer(server)
    await Promise.all(backends.map((b) => b.close()))
  }
})

HonoRecipe('should write the socket address into X-Forwarded-For, whatever CF-Connecting-IP the client claims', async () => {
  const backends = await startBackends(1)
  const server = serve({ fetch: createHonoApp(backends.map((b) => b.origin)).fetch, port: 0, hostname: '127.0.0.1' }) as Server
  await new Promise((resolve) => server.once('listening', resolve))
  try {
    const seen = await new Browser().seen(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`, { headers: { 'cf-connecting-ip': '203.0.113.9' } })
    assert.is(seen.forwardedFor, '127.0.0.1')
  } finally {
    await closeServer(server)
    await Promise.all(backends.map((b) => b.close()))
  }
})

HonoRecipe.run()

const NodeFetch = suite('recipe: a Node fetch server (srvx) running sticky-fetch')

NodeFetch('should pin each browser to one backend for every request', async () => {
  const backends = await startBackends(2)
  const app = await startNodeFetchServer({ peers: backends.map((b) => b.origin) })
  try {
    await assertEachBrowserPinned(new URL(app.url).origin, backends, (rest) => `/api${rest}`)
    const seen = await new Browser().seen(`${app.url}api/`, { headers: { 'cf-connecting-ip': '203.0.113.9' } })
    assert.is(seen.forwardedFor, '127.0.0.1')
  } finally {
    await app.close()
    await Promise.all(backends.map((b) => b.close()))
  }
})

NodeFetch.run()

/** One HTTP request or upgrade of a socket.io session, as a backend received it. */
interface Hit {
  readonly backend: string
  readonly sid: string | null
  readonly transport: string | null
  readonly upgrade: boolean
}

/** Starts two socket.io backends and records every socket.io request and upgrade each receives. */
async function socketBackends(): Promise<{ backends: SocketBackend[]; hits: Hit[] }> {
  const hits: Hit[] = []
  const backends = [await startSocketBackend('backend-1'), await startSocketBackend('backend-2')]
  for (const backend of backends) {
    const record = (upgrade: boolean) => (req: { url?: string | undefined }) => {
      const url = new URL(req.url ?? '/', 'http://x')
      if (!url.pathname.startsWith('/socket.io/')) return
      hits.push({ backend: backend.id, sid: url.searchParams.get('sid'), transport: url.searchParams.get('transport'), upgrade })
    }
    backend.http.on('request', record(false))
    backend.http.on('upgrade', record(true))
  }
  return { backends, hits }
}

/** Resolves with the first value of `event`; rejects on a connection error (a stray request gets "Session ID unknown"). */
function first<T>(socket: Socket, event: string): Promise<T> {
  return new Promise((resolve, reject) => {
    socket.once(event, (value: T) => resolve(value))
    socket.once('connect_error', reject)
  })
}

/** A socket.io client in Node that keeps cookies as a browser does (`withCredentials`), and never reconnects. */
function client(url: string, transports: Array<'polling' | 'websocket'>, cookie?: string): Socket {
  return connect(url, {
    transports,
    withCredentials: true,
    reconnection: false,
    forceNew: true,
    ...(cookie === undefined ? {} : { extraHeaders: { cookie } }),
  })
}

const SocketIo = suite('recipe: socket.io behind sticky-node')

SocketIo('should keep every polling request of a session and its upgrade to WebSocket on one backend', async () => {
  const { backends, hits } = await socketBackends()
  const proxy = await startSocketProxy(backends.map((b) => b.address))
  const sockets: Socket[] = []
  try {
    const met = new Set<string>()
    // One client after the other: round robin sends them to both backends in turn.
    for (let n = 0; n < 3; n++) {
      const socket = client(proxy.url, ['polling', 'websocket'])
      sockets.push(socket)
      const upgraded = new Promise<void>((resolve) => socket.io.once('open', () => socket.io.engine.once('upgrade', () => resolve())))
      const hello = await first<string>(socket, 'hello')
      await upgraded
      assert.is(socket.io.engine.transport.name, 'websocket')
      assert.is(await socket.emitWithAck('whoami'), hello, 'over the WebSocket, the same backend')
      // Every request that named this session, and the upgrade, reached the backend that said hello.
      const session = hits.filter((hit) => hit.sid === socket.io.engine.id)
      assert.ok(session.filter((hit) => hit.transport === 'polling').length >= 2, JSON.stringify(session))
      assert.is(session.filter((hit) => hit.upgrade && hit.transport === 'websocket').length, 1, JSON.stringify(session))
      assert.equal([...new Set(session.map((hit) => hit.backend))], [hello], JSON.stringify(session))
      met.add(hello)
    }
    assert.equal([...met].sort(), ['backend-1', 'backend-2'])
  } finally {
    for (const socket of sockets) socket.disconnect()
    await proxy.close()
    await Promise.all(backends.map((b) => b.close()))
  }
})

SocketIo('should keep a polling-only session on one backend through many exchanges', async () => {
  const { backends, hits } = await socketBackends()
  const proxy = await startSocketProxy(backends.map((b) => b.address))
  const sockets: Socket[] = []
  try {
    for (let n = 0; n < 2; n++) {
      const socket = client(proxy.url, ['polling'])
      sockets.push(socket)
      const hello = await first<string>(socket, 'hello')
      for (let i = 0; i < 5; i++) assert.is(await socket.emitWithAck('whoami'), hello, `exchange ${i}`)
      const session = hits.filter((hit) => hit.sid === socket.io.engine.id)
      assert.ok(session.length >= 6, JSON.stringify(session))
      assert.equal([...new Set(session.map((hit) => hit.backend))], [hello], JSON.stringify(session))
    }
  } finally {
    for (const socket of sockets) socket.disconnect()
    await proxy.close()
    await Promise.all(backends.map((b) => b.close()))
  }
})

SocketIo('should send a WebSocket-only connection to the backend that served the page, by its cookie', async () => {
  const { backends, hits } = await socketBackends()
  const proxy = await startSocketProxy(backends.map((b) => b.address))
  const sockets: Socket[] = []
  const pages = new Set<string>()
  try {
    for (let n = 0; n < 3; n++) {
      const browser = new Browser()
      const page = await (await browser.fetch(`${proxy.url}/`)).text()
      const cookie = `route=${browser.cookies.get('route')}`
      const socket = client(proxy.url, ['websocket'], cookie)
      sockets.push(socket)
      const hello = await first<string>(socket, 'hello')
      assert.is(page, `page from ${hello}\n`)
      const upgrades = hits.filter((hit) => hit.upgrade)
      assert.is(upgrades.length, n + 1)
      assert.is(upgrades[n]!.backend, hello)
      pages.add(hello)
    }
    assert.equal([...pages].sort(), ['backend-1', 'backend-2'])
  } finally {
    for (const socket of sockets) socket.disconnect()
    await proxy.close()
    await Promise.all(backends.map((b) => b.close()))
  }
})

SocketIo.run()
