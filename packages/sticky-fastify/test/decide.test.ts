import { createBalancer } from 'sticky-core'
import { CookieJar, deadPort, send, sendRaw, withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { stickyProxy } from '../src/index'
import { createApp, listen } from './_app'
import { startTrackedBackend } from './_backend'

const test = suite('stickyProxy: decide-only mode (forward: false)')

test("should set request.sticky and append the cookie while the app's own handlers answer", () =>
  withScope(async (scope) => {
    const backends = [await startTrackedBackend('b1'), await startTrackedBackend('b2')]
    for (const b of backends) scope.defer(b, () => b.close())
    const balancer = createBalancer({ peers: backends.map((b) => b.address), cookie: { name: 'pin' } })
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(stickyProxy, { balancer, forward: false })
    app.get('/where', async (request, reply) => {
      reply.header('set-cookie', 'own=1; Path=/')
      return { outcome: request.sticky?.outcome ?? null, peer: request.sticky?.peer?.id ?? null }
    })
    const url = await listen(app)
    assert.not.ok(app.hasReplyDecorator('from'), 'no proxy machinery in decide-only mode')

    const jar = new CookieJar()
    const first = await send(url, { path: '/where', jar })
    const decided = JSON.parse(first.body.toString()) as { outcome: string; peer: string }
    assert.is(decided.outcome, 'new')
    const peer = balancer.peers.find((p) => p.id === decided.peer)
    if (peer === undefined) throw new Error(`unknown peer ${decided.peer}`)
    assert.equal(first.setCookies, [`pin=${balancer.cookieValue(peer)}; Path=/`, 'own=1; Path=/'])

    const second = await send(url, { path: '/where', jar })
    assert.equal(JSON.parse(second.body.toString()), { outcome: 'hit', peer: peer.id })
    assert.equal(second.setCookies, ['own=1; Path=/'])
    assert.ok(
      backends.every((b) => b.seen.length === 0),
      'nothing was proxied',
    )
  }))

test('should decide only under the prefix', () =>
  withScope(async (scope) => {
    const app = createApp()
    scope.defer(app, () => app.close())
    const handler = async (request: { sticky: unknown }): Promise<{ decided: boolean }> => ({ decided: request.sticky !== null })
    // Registered before the plugin: Fastify still applies the hook to it.
    app.get('/shop/cart', handler)
    await app.register(stickyProxy, { peers: ['127.0.0.1:9'], forward: false, prefix: '/shop' })
    app.get('/shopping', handler)
    app.get('/about', handler)
    const url = await listen(app)
    for (const [path, decided] of [
      ['/shop/cart', true],
      ['/shopping', false],
      ['/about', false],
    ] as const) {
      const answer = await send(url, { path, jar: new CookieJar() })
      assert.equal(JSON.parse(answer.body.toString()), { decided }, path)
      assert.is(answer.setCookies.length, decided ? 1 : 0, path)
    }
  }))

test('should decide for an absolute-form target under the prefix', () =>
  withScope(async (scope) => {
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(stickyProxy, { peers: ['127.0.0.1:9'], forward: false, prefix: '/shop' })
    app.get('/shop/cart', async (request) => ({ decided: request.sticky !== null }))
    app.get('/shopping', async (request) => ({ decided: request.sticky !== null }))
    const url = await listen(app)
    for (const [target, decided] of [
      ['http://front.example/shop/cart', true],
      ['http://front.example/shopping', false],
    ] as const) {
      const answer = await sendRaw(url, `GET ${target} HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n`)
      assert.is(answer.status, 200, target)
      assert.is(/^set-cookie: route=/im.test(answer.head), decided, target)
    }
  }))

test('should leave a decision without a peer to the app', () =>
  withScope(async (scope) => {
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(stickyProxy, { peers: [{ address: `127.0.0.1:${await deadPort()}`, down: true }], forward: false })
    app.get('/', async (request, reply) => {
      if (request.sticky?.peer === null) return reply.code(503).send({ outcome: request.sticky.outcome })
      return { ok: true }
    })
    const url = await listen(app)
    const answer = await send(url, { jar: new CookieJar() })
    assert.is(answer.status, 503)
    assert.equal(JSON.parse(answer.body.toString()), { outcome: 'unavailable' })
  }))

test.run()
