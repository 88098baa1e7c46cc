import { createBalancer, StickyConfigError } from 'sticky-core'
import { CookieJar, deadPort, send, withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { stickyProxy } from '../src/index'
import type { FastifyResponseEvent } from '../src/index'
import { createApp, listen } from './_app'
import { startTrackedBackend } from './_backend'

const test = suite('stickyProxy: onResponse')

/** Waits for `events` to hold `n` entries: the event comes when the reply's connection side closes. */
async function first(events: FastifyResponseEvent[], n: number): Promise<FastifyResponseEvent[]> {
  for (let i = 0; i < 500 && events.length < n; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  return events
}

test("should report every forwarded request with sticky-core's ExchangeEvent fields", () =>
  withScope(async (scope) => {
    const live = await startTrackedBackend('live')
    scope.defer(live, () => live.close())
    const balancer = createBalancer({ peers: [{ address: `127.0.0.1:${await deadPort()}`, maxFails: 0 }, live.address] })
    const [dead, alive] = balancer.peers
    if (dead === undefined || alive === undefined) throw new Error('two peers expected')
    const events: FastifyResponseEvent[] = []
    const app = scope.defer(createApp(), (a) => a.close())
    await app.register(stickyProxy, { balancer, prefix: '/app', onResponse: (event) => events.push(event) })
    const url = await listen(app)

    const jar = new CookieJar()
    jar.set('route', balancer.cookieValue(dead))
    const get = await send(url, { path: '/app/page?session=secret', jar })
    assert.is(get.status, 200)
    const post = await send(url, {
      method: 'POST',
      path: '/app/form',
      body: Buffer.from('a=1'),
      jar: (() => {
        const j = new CookieJar()
        j.set('route', balancer.cookieValue(dead))
        return j
      })(),
    })
    assert.is(post.status, 502)
    const bad = await send(url, { path: '/app/a%2F..%2F..%2Fetc', jar: new CookieJar() })
    assert.is(bad.status, 400)

    const [retried, refused, rejected] = await first(events, 3)
    assert.is(events.length, 3)
    assert.is(retried?.method, 'GET')
    assert.is(retried?.path, '/app/page', 'the query never reaches the event')
    assert.is(retried?.status, 200)
    assert.is(retried?.outcome, 'repinned')
    assert.is(retried?.decision.outcome, 'repinned')
    assert.is(retried?.peer?.id, alive.id)
    assert.is(retried?.attempts, 2, 'the dead peer, then the live one')
    assert.is(retried?.error, undefined)
    assert.is(retried?.upgrade, false)
    assert.is(retried?.request.url, '/app/page?session=secret')
    assert.ok((retried?.durationMs ?? -1) >= 0)

    assert.equal([refused?.status, refused?.error, refused?.attempts, refused?.peer?.id], [502, 'connect', 1, dead.id])
    assert.equal([rejected?.status, rejected?.error], [400, 'rejected'])
  }))

test('should report 502 unavailable when no peer is usable, and hand what onResponse throws to onError', () =>
  withScope(async (scope) => {
    const errors: unknown[] = []
    const boom = new Error('metrics bug')
    const app = scope.defer(createApp(), (a) => a.close())
    let called = 0
    await app.register(stickyProxy, {
      peers: [{ address: `127.0.0.1:${await deadPort()}`, down: true }],
      onResponse: (event) => {
        called += 1
        assert.equal([event.status, event.error, event.attempts, event.peer], [502, 'unavailable', 0, null])
        throw boom
      },
      onError: (error) => errors.push(error),
    })
    const url = await listen(app)
    const answer = await send(url, { path: '/', jar: new CookieJar() })
    assert.is(answer.status, 502)
    for (let i = 0; i < 500 && errors.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.is(called, 1)
    assert.equal(errors, [boom])
    // The app serves on.
    assert.is((await send(url, { path: '/', jar: new CookieJar() })).status, 502)
  }))

test('should hand the rejection of an async onResponse to onError', () =>
  withScope(async (scope) => {
    const errors: unknown[] = []
    const boom = new Error('async metrics bug')
    const app = scope.defer(createApp(), (a) => a.close())
    await app.register(stickyProxy, {
      peers: [{ address: `127.0.0.1:${await deadPort()}`, down: true }],
      onResponse: async () => Promise.reject(boom),
      onError: (error) => errors.push(error),
    })
    const url = await listen(app)
    assert.is((await send(url, { path: '/', jar: new CookieJar() })).status, 502)
    for (let i = 0; i < 500 && errors.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(errors, [boom])
  }))

test('should refuse an onResponse or onError that is not a function', async () => {
  for (const key of ['onResponse', 'onError'] as const) {
    const app = createApp()
    try {
      await app.register(stickyProxy, { peers: ['127.0.0.1:1'], [key]: 'log' } as never)
      await app.ready()
      assert.unreachable(`${key} was accepted`)
    } catch (error) {
      assert.ok(error instanceof StickyConfigError, String(error))
      assert.is((error as StickyConfigError).option, key)
    } finally {
      await app.close()
    }
  }
})

test("should carry the request id on the proxy's own answers and in the event", () =>
  withScope(async (scope) => {
    const dead = `127.0.0.1:${await deadPort()}`
    const events: FastifyResponseEvent[] = []
    const app = scope.defer(createApp(), (a) => a.close())
    await app.register(stickyProxy, { peers: [{ address: dead, maxFails: 0 }], proxy: { requestId: true }, onResponse: (event) => events.push(event) })
    const url = await listen(app)

    const refused = await send(url, { path: '/x', jar: new CookieJar() })
    assert.is(refused.status, 502)
    const id = refused.headers['x-request-id']
    assert.ok(typeof id === 'string' && id.length === 36, 'a generated id on a 502 of its own')
    const bad = await send(url, { path: '/a%2F..%2F..%2Fetc', jar: new CookieJar() })
    assert.is(bad.status, 400)
    assert.ok(typeof bad.headers['x-request-id'] === 'string' && bad.headers['x-request-id'] !== id, 'and on a refused path, a new one')
    await first(events, 2)
    assert.equal(
      events.map((event) => event.requestId),
      [id, bad.headers['x-request-id']],
    )
  }))

test.run()
