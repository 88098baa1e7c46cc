import replyFrom from '@fastify/reply-from'
import { createBalancer } from 'sticky-core'
import type { Outcome } from 'sticky-core'
import { CookieJar, deadPort, send, sendRaw, startBackend, withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { stickyProxy } from '../src/index'
import { createApp, listen } from './_app'
import { startTrackedBackend } from './_backend'

const test = suite('stickyProxy: proxy mode')

test("should proxy only under the prefix, strip it, and leave the app's own routes alone", () =>
  withScope(async (scope) => {
    const backend = await startTrackedBackend('b1')
    scope.defer(backend, () => backend.close())
    const app = createApp()
    scope.defer(app, () => app.close())
    app.get('/health', async (request) => ({ ok: true, sticky: request.sticky }))
    await app.register(stickyProxy, { peers: [backend.address], prefix: '/app/' })
    const url = await listen(app)

    const cases: ReadonlyArray<readonly [string, string]> = [
      ['/app/x/y?q=1', '/x/y?q=1'],
      ['/app', '/'],
      ['/app/', '/'],
      ['/app?q=2', '/?q=2'],
    ]
    for (const [path, upstream] of cases) {
      const answer = await send(url, { path, jar: new CookieJar() })
      assert.is(answer.status, 200, path)
      assert.is(answer.body.toString(), `b1 GET ${upstream}`, path)
    }
    assert.is(backend.seen.length, cases.length)

    const outside = await send(url, { path: '/appx', jar: new CookieJar() })
    assert.is(outside.status, 404)
    assert.equal(outside.setCookies, [])

    const own = await send(url, { path: '/health', jar: new CookieJar() })
    assert.equal(JSON.parse(own.body.toString()), { ok: true, sticky: null })
    assert.equal(own.setCookies, [])
    assert.is(backend.seen.length, cases.length, 'nothing outside the prefix reached the peer')
  }))

test('should forward only the path and query of an absolute-form target, under the prefix rules', () =>
  withScope(async (scope) => {
    const backend = await startTrackedBackend('b1')
    scope.defer(backend, () => backend.close())
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(stickyProxy, { peers: [backend.address], prefix: '/app' })
    await app.register(stickyProxy, { peers: [backend.address], prefix: '/keep', rewritePrefix: '/keep', cookie: { name: 'k' } })
    const url = await listen(app)

    const cases: ReadonlyArray<readonly [string, string]> = [
      ['http://evil.example/app/x?q=1', '/x?q=1'],
      ['HTTP://evil.example:8080/app', '/'],
      ['http://evil.example/app?q=2', '/?q=2'],
      ['https://evil.example/keep/y', '/keep/y'],
    ]
    for (const [target, upstream] of cases) {
      const answer = await sendRaw(url, `GET ${target} HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n`)
      assert.is(answer.status, 200, target)
      const seen = backend.seen.at(-1)
      assert.is(seen?.url, upstream, target)
      assert.is(seen?.headers['host'], backend.address, `${target}: the target's host never reaches the peer`)
    }
  }))

test('should answer 400 to a path that climbs out of the root, without contacting a peer', () =>
  withScope(async (scope) => {
    const backend = await startTrackedBackend('b1')
    scope.defer(backend, () => backend.close())
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(stickyProxy, { peers: [backend.address], prefix: '/app' })
    const url = await listen(app)
    // Dot segments written plainly are resolved by the client; encoded slashes reach the proxy.
    for (const path of ['/app/a/..%2Fb', '/app/a%2F..%2F..%2Fetc', '/app/%2E%2E%2F..%2Fetc']) {
      const answer = await send(url, { path, jar: new CookieJar() })
      assert.is(answer.status, 400, path)
      assert.is((JSON.parse(answer.body.toString()) as { code: string }).code, 'STICKY_BAD_PATH', path)
    }
    assert.is(backend.seen.length, 0)
  }))

test('should keep the prefix when rewritePrefix names it, or replace it', () =>
  withScope(async (scope) => {
    const backend = await startTrackedBackend('b1')
    scope.defer(backend, () => backend.close())
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(stickyProxy, { peers: [backend.address], prefix: '/app', rewritePrefix: '/app' })
    await app.register(stickyProxy, { peers: [backend.address], prefix: '/v1', rewritePrefix: '/api/v1', cookie: { name: 'r1' } })
    const url = await listen(app)
    for (const [path, upstream] of [
      ['/app/a?b=1', '/app/a?b=1'],
      ['/app', '/app'],
      ['/v1/items', '/api/v1/items'],
    ] as const) {
      assert.is((await send(url, { path, jar: new CookieJar() })).body.toString(), `b1 GET ${upstream}`, path)
    }
  }))

test('should set request.sticky to the decision: new, then hit', () =>
  withScope(async (scope) => {
    const backends = [await startBackend('b1'), await startBackend('b2')]
    for (const b of backends) scope.defer(b, () => b.close())
    const app = createApp()
    scope.defer(app, () => app.close())
    const outcomes: Array<Outcome | undefined> = []
    app.addHook('onResponse', async (request) => {
      outcomes.push(request.sticky?.outcome)
    })
    await app.register(stickyProxy, { peers: backends.map((b) => b.address) })
    const url = await listen(app)
    const jar = new CookieJar()
    const first = await send(url, { jar })
    const second = await send(url, { jar })
    assert.is(second.backend, first.backend)
    assert.equal(second.setCookies, [], 'refresh "assign": no cookie on a hit')
    assert.equal(outcomes, ['new', 'hit'])
  }))

test("should append the sticky cookie beside the upstream's and the app's own cookies", () =>
  withScope(async (scope) => {
    const backend = await startTrackedBackend('b1')
    scope.defer(backend, () => backend.close())
    const app = createApp()
    scope.defer(app, () => app.close())
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('set-cookie', 'app=1; Path=/')
    })
    const balancer = createBalancer({ peers: [backend.address] })
    const peer = balancer.peers[0]
    if (peer === undefined) throw new Error('unreachable')
    await app.register(stickyProxy, { balancer })
    const url = await listen(app)
    const answer = await send(url, { jar: new CookieJar() })
    assert.is(answer.status, 200)
    assert.equal(answer.setCookies, ['app=1; Path=/', 'up=b1; Path=/', `route=${balancer.cookieValue(peer)}; Path=/`])
  }))

test('should route two plugins with different cookie names and prefixes independently', () =>
  withScope(async (scope) => {
    const a = [await startTrackedBackend('a1'), await startTrackedBackend('a2')]
    const b = [await startTrackedBackend('b1'), await startTrackedBackend('b2')]
    for (const backend of [...a, ...b]) scope.defer(backend, () => backend.close())
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(stickyProxy, { peers: a.map((x) => x.address), prefix: '/a', cookie: { name: 'ra' } })
    await app.register(stickyProxy, { peers: b.map((x) => x.address), prefix: '/b', cookie: { name: 'rb' } })
    const url = await listen(app)

    for (let client = 0; client < 4; client += 1) {
      const jar = new CookieJar()
      const firstA = await send(url, { path: '/a/x', jar })
      const firstB = await send(url, { path: '/b/x', jar })
      assert.match(firstA.backend ?? '', /^a[12]$/)
      assert.match(firstB.backend ?? '', /^b[12]$/)
      assert.ok(firstA.setCookies.some((l) => l.startsWith('ra=')) && !firstA.setCookies.some((l) => l.startsWith('rb=')))
      assert.ok(firstB.setCookies.some((l) => l.startsWith('rb=')) && !firstB.setCookies.some((l) => l.startsWith('ra=')))
      for (let round = 0; round < 3; round += 1) {
        // The jar now sends both cookies to both prefixes; each plugin reads only its own.
        assert.is((await send(url, { path: '/a/y', jar })).backend, firstA.backend, `client ${client} /a`)
        assert.is((await send(url, { path: '/b/y', jar })).backend, firstB.backend, `client ${client} /b`)
      }
    }
    assert.ok(a.every((x) => x.seen.every((s) => s.url.startsWith('/x') || s.url.startsWith('/y'))))
    assert.ok(a.every((x) => x.seen.length > 0) && b.every((x) => x.seen.length > 0), 'both peers of each plugin got clients')
  }))

test("should answer 502 in Fastify's error shape when the balancer has no usable peer", () =>
  withScope(async (scope) => {
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(stickyProxy, { peers: [{ address: `127.0.0.1:${await deadPort()}`, down: true }] })
    const url = await listen(app)
    const answer = await send(url, { path: '/x', jar: new CookieJar() })
    assert.is(answer.status, 502)
    assert.match(String(answer.headers['content-type']), /^application\/json/)
    assert.equal(JSON.parse(answer.body.toString()), {
      statusCode: 502,
      code: 'STICKY_NO_PEER',
      error: 'Bad Gateway',
      message: 'No usable upstream peer',
    })
    assert.equal(answer.setCookies, [])
  }))

test('should answer 502 without retrying a request with a body, and retry a GET on the live peer', () =>
  withScope(async (scope) => {
    const live = await startTrackedBackend('live')
    scope.defer(live, () => live.close())
    const balancer = createBalancer({ peers: [{ address: `127.0.0.1:${await deadPort()}`, maxFails: 0 }, live.address] })
    const [dead, alive] = balancer.peers
    if (dead === undefined || alive === undefined) throw new Error('unreachable')
    const app = createApp()
    scope.defer(app, () => app.close())
    const outcomes: Array<Outcome | undefined> = []
    app.addHook('onResponse', async (request) => {
      outcomes.push(request.sticky?.outcome)
    })
    await app.register(stickyProxy, { balancer, proxy: { retries: 3 } })
    const url = await listen(app)

    const pinnedToDead = (): CookieJar => {
      const jar = new CookieJar()
      jar.set('route', balancer.cookieValue(dead))
      return jar
    }
    const post = await send(url, { method: 'POST', path: '/form', body: Buffer.from('a=1'), jar: pinnedToDead() })
    assert.is(post.status, 502)
    assert.equal(JSON.parse(post.body.toString()), {
      statusCode: 502,
      code: 'STICKY_UPSTREAM_FAILED',
      error: 'Bad Gateway',
      message: 'The upstream peer could not be reached',
    })
    assert.is(live.seen.length, 0, 'the body was not replayed to another peer')

    const get = await send(url, { path: '/page', jar: pinnedToDead() })
    assert.is(get.status, 200)
    assert.is(get.backend, 'live')
    assert.ok(get.setCookies.includes(`route=${balancer.cookieValue(alive)}; Path=/`), 'the cookie names the peer that answered')
    assert.equal(outcomes, ['hit', 'repinned'])
  }))

test("should let the application's error handler render the gateway errors", () =>
  withScope(async (scope) => {
    const app = createApp()
    scope.defer(app, () => app.close())
    app.setErrorHandler((error: { code?: string; statusCode?: number }, _request, reply) => {
      reply.code(error.statusCode ?? 500).send({ failed: error.code })
    })
    await app.register(stickyProxy, { peers: [`127.0.0.1:${await deadPort()}`], proxy: { retries: 0 } })
    const url = await listen(app)
    const answer = await send(url, { jar: new CookieJar() })
    assert.is(answer.status, 502)
    assert.equal(JSON.parse(answer.body.toString()), { failed: 'STICKY_UPSTREAM_FAILED' })
  }))

test("should pass JSON bodies through unparsed while the app's own routes still parse JSON", () =>
  withScope(async (scope) => {
    const backend = await startTrackedBackend('b1')
    scope.defer(backend, () => backend.close())
    const app = createApp()
    scope.defer(app, () => app.close())
    app.post('/own', async (request) => ({ parsed: request.body }))
    await app.register(stickyProxy, { peers: [backend.address], prefix: '/up' })
    const url = await listen(app)
    const raw = Buffer.from('{ "a" : 1,\n"b":[true] }')
    const headers = { 'content-type': 'application/json' }
    const proxied = await send(url, { method: 'POST', path: '/up/items', headers, body: raw, jar: new CookieJar() })
    assert.is(proxied.status, 200)
    assert.equal(backend.seen[0]?.body, raw, 'the peer got the exact bytes')
    assert.is(backend.seen[0]?.headers['content-type'], 'application/json')
    const own = await send(url, { method: 'POST', path: '/own', headers, body: raw, jar: new CookieJar() })
    assert.equal(JSON.parse(own.body.toString()), { parsed: { a: 1, b: [true] } })
  }))

test('should send X-Forwarded-* upstream, strip hop-by-hop fields both ways, and honour proxy.xForwarded: false', () =>
  withScope(async (scope) => {
    const backend = await startTrackedBackend('b1')
    scope.defer(backend, () => backend.close())
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(stickyProxy, { peers: [backend.address], prefix: '/on' })
    await app.register(stickyProxy, { peers: [backend.address], prefix: '/off', proxy: { xForwarded: false } })
    const url = await listen(app)
    const host = new URL(url).host
    const headers = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', connection: 'x-secret', 'x-secret': 'hop' }
    const on = await send(url, { path: '/on', headers, jar: new CookieJar() })
    assert.is.not(on.headers['keep-alive'], 'timeout=5', "the peer's Keep-Alive stays on its hop")
    const seenOn = backend.seen[0]?.headers
    assert.is(seenOn?.['x-forwarded-for'], '127.0.0.1')
    assert.is(seenOn?.['x-forwarded-proto'], 'http')
    assert.is(seenOn?.['x-forwarded-host'], host)
    assert.is(seenOn?.['x-secret'], undefined, "a field the client's Connection names is not forwarded")
    assert.is(seenOn?.['host'], backend.address, "Host names the peer, as nginx's $proxy_host")
    await send(url, { path: '/off', jar: new CookieJar() })
    const seenOff = backend.seen[1]?.headers
    assert.is(seenOff?.['x-forwarded-for'], undefined)
    assert.is(seenOff?.['x-forwarded-host'], undefined)
  }))

test("should replace an untrusted client's X-Forwarded-For lines, empty or repeated, with its address, and replace the claimed Proto and Host", () =>
  withScope(async (scope) => {
    const backend = await startTrackedBackend('b1')
    scope.defer(backend, () => backend.close())
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(stickyProxy, { peers: [backend.address] })
    const url = await listen(app)
    const lines: ReadonlyArray<readonly [string, string]> = [
      ['X-Forwarded-For: \r\n', '127.0.0.1'],
      ['X-Forwarded-For: 203.0.113.7,\r\nX-Forwarded-For: , 10.0.0.2\r\n', '127.0.0.1'],
    ]
    for (const [fields, chain] of lines) {
      const forged = 'X-Forwarded-Proto: https\r\nX-Forwarded-Host: forged.example\r\n'
      const answer = await sendRaw(url, `GET /x HTTP/1.1\r\nHost: shop.example\r\n${fields}${forged}Connection: close\r\n\r\n`)
      assert.is(answer.status, 200)
      const seen = backend.seen.at(-1)?.headers
      assert.is(seen?.['x-forwarded-for'], chain, JSON.stringify(fields))
      assert.is(seen?.['x-forwarded-proto'], 'http')
      assert.is(seen?.['x-forwarded-host'], 'shop.example')
    }
  }))

test('should close the upstream keep-alive connections when Fastify closes', () =>
  withScope(async (scope) => {
    const backend = await startTrackedBackend('b1')
    scope.defer(backend, () => backend.close())
    const app = createApp()
    let closed = false
    scope.defer(app, () => (closed ? undefined : app.close()))
    await app.register(stickyProxy, { peers: [backend.address] })
    const url = await listen(app)
    for (let i = 0; i < 3; i += 1) assert.is((await send(url, { jar: new CookieJar() })).status, 200)
    assert.ok(backend.openSockets > 0, 'the pool keeps its upstream connection alive')
    await app.close()
    closed = true
    await backend.whenNoSockets()
    assert.is(backend.openSockets, 0)
  }))

test("should reach a unix-socket peer through reply-from's node:http transport", () =>
  withScope(async (scope) => {
    const { mkdtemp, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = await mkdtemp(join(tmpdir(), 'sticky-fastify-'))
    scope.defer(dir, () => rm(dir, { recursive: true, force: true }))
    const backend = await startTrackedBackend('sock', join(dir, 'peer.sock'))
    scope.defer(backend, () => backend.close())
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(stickyProxy, { peers: [backend.address], replyFrom: { http: {} } })
    const url = await listen(app)
    const answer = await send(url, { path: '/s?x=1', jar: new CookieJar() })
    assert.is(answer.status, 200)
    assert.is(answer.body.toString(), 'sock GET /s?x=1')
    assert.ok(answer.setCookies.some((l) => l.startsWith('route=')))
    assert.is(backend.seen[0]?.headers['host'], 'localhost', "Host names a unix-socket peer as sticky-core's upstreamHost does")
  }))

test('should keep its reply-from private, beside one the app registered for its own routes', () =>
  withScope(async (scope) => {
    const mine = await startTrackedBackend('mine')
    const other = await startTrackedBackend('other')
    for (const b of [mine, other]) scope.defer(b, () => b.close())
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(replyFrom, { base: `http://${other.address}` })
    app.get('/legacy', (_request, reply) => {
      reply.from('/legacy')
    })
    await app.register(stickyProxy, { peers: [mine.address], prefix: '/x' })
    const url = await listen(app)
    assert.is((await send(url, { path: '/x/a', jar: new CookieJar() })).body.toString(), 'mine GET /a')
    assert.is((await send(url, { path: '/legacy', jar: new CookieJar() })).body.toString(), 'other GET /legacy')
  }))

test.run()
