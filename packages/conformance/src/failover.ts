import * as assert from 'uvu/assert'
import { send, type Answer } from './client'
import { caseIf, CookieModel, peersOf, startAdapter, startBackends, type SuiteContext } from './harness'
import { CookieJar } from './jar'
import { deadPort, sleep } from './ports'
import { withScope } from './scope'

const FAIL_TIMEOUT = 300

/** Dead peers, re-pinning, fallback, retries and the proxy's own error statuses. */
export function failover(ctx: SuiteContext): void {
  const { test, factory } = ctx

  test('should re-pin a client whose peer stopped, then give new clients to the peer restarted after failTimeout', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const balancer = { peers: peersOf(backends, { failTimeout: FAIL_TIMEOUT }) }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      const jar = new CookieJar()
      const stopped = model.assertPinnedToAnswerer(await send(proxy.url, { jar }), backends)
      const live = backends.find((b) => b !== stopped)
      if (live === undefined) throw new Error('unreachable')
      await stopped.stop()

      // Without retries the request that discovers the failure may itself get a 502.
      let answer: Answer | undefined
      for (let attempt = 0; attempt < 3 && answer?.status !== 200; attempt += 1) answer = await send(proxy.url, { jar })
      if (answer === undefined) throw new Error('unreachable')
      assert.is(answer.status, 200, 'a live peer answers')
      assert.is(answer.backend, live.name)
      assert.is(model.setBy(answer), model.valueOf(live), 'a new cookie names the live peer')
      for (let i = 0; i < 3; i += 1) assert.is((await send(proxy.url, { jar })).backend, live.name, 'the new pin holds')

      await stopped.restart()
      await sleep(FAIL_TIMEOUT + 150)
      const seen = new Set<string>()
      for (let i = 0; i < 4; i += 1) {
        const fresh = await send(proxy.url, { jar: new CookieJar() })
        assert.is(fresh.status, 200)
        seen.add(fresh.backend ?? '')
      }
      assert.ok(seen.has(stopped.name), `the restarted peer gets new clients again, saw ${[...seen].join(',')}`)
    }))

  test('should answer 502 to a client pinned to a dead peer when fallback is false, and still balance new clients', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const balancer = { peers: peersOf(backends), fallback: false }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      const jar = new CookieJar()
      const stopped = model.assertPinnedToAnswerer(await send(proxy.url, { jar }), backends)
      const live = backends.find((b) => b !== stopped)
      await stopped.stop()
      for (let i = 0; i < 2; i += 1) {
        const answer = await send(proxy.url, { jar })
        assert.is(answer.status, 502, `pinned request ${i}`)
        assert.is(answer.backend, undefined)
        assert.is(model.setBy(answer) ?? model.valueOf(stopped), model.valueOf(stopped), 'no cookie naming another peer')
      }
      for (let i = 0; i < 3; i += 1) {
        const fresh = await send(proxy.url, { jar: new CookieJar() })
        assert.is(fresh.status, 200, `new client ${i}`)
        assert.is(fresh.backend, live?.name)
      }
    }))

  caseIf(ctx, 'retries', 'should retry idempotent requests of new clients on a live peer, pinning them to it', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const dead = `127.0.0.1:${await deadPort()}`
      // maxFails 0: the dead peer is never taken out, so every round robin turn on it needs a retry.
      const balancer = { peers: [{ address: dead, maxFails: 0 }, ...peersOf(backends)] }
      const proxy = await startAdapter(scope, factory, { balancer, retries: 2 })
      const model = new CookieModel(balancer)
      for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'GET', 'GET', 'GET']) {
        const answer = await send(proxy.url, { method, jar: new CookieJar() })
        model.assertPinnedToAnswerer(answer, backends, method)
        assert.ok(model.setBy(answer), `${method}: the new client gets a cookie`)
      }
    }),
  )

  caseIf(ctx, 'retries', 'should retry a client pinned to a dead peer and pin it to the peer that answered', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const dead = { address: `127.0.0.1:${await deadPort()}` }
      const balancer = { peers: [dead, ...peersOf(backends)] }
      const proxy = await startAdapter(scope, factory, { balancer, retries: 2 })
      const model = new CookieModel(balancer)
      const jar = new CookieJar()
      jar.set('route', model.valueOf(dead))
      const answer = await send(proxy.url, { jar })
      const backend = model.assertPinnedToAnswerer(answer, backends)
      assert.is(model.setBy(answer), model.valueOf(backend), 'the cookie is rewritten to the peer that answered')
      for (let i = 0; i < 3; i += 1) assert.is((await send(proxy.url, { jar })).backend, backend.name)
    }),
  )

  test('should answer 502 with a short body when every peer is down', () =>
    withScope(async (scope) => {
      const balancer = { peers: [`127.0.0.1:${await deadPort()}`, `127.0.0.1:${await deadPort()}`] }
      const proxy = await startAdapter(scope, factory, { balancer, retries: 1 })
      for (const method of ['GET', 'POST', 'GET']) {
        const body = method === 'POST' ? { body: Buffer.from('x') } : {}
        const answer = await send(proxy.url, { method, jar: new CookieJar(), ...body })
        assert.is(answer.status, 502, method)
        assert.ok(answer.body.length > 0 && answer.body.length < 1024, `${method}: a short body (${answer.body.length} bytes)`)
        assert.is(answer.backend, undefined)
      }
    }))

  caseIf(ctx, 'timeout', 'should answer 504 when the peer never answers', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 1)
      // maxFails 0 keeps the silent peer usable, so the next request shows the proxy still serves.
      const balancer = { peers: peersOf(backends, { maxFails: 0 }) }
      const proxy = await startAdapter(scope, factory, { balancer, timeoutMs: 300 })
      const answer = await send(proxy.url, { path: '/hang', jar: new CookieJar() })
      assert.is(answer.status, 504)
      assert.is(backends[0]?.requests, 1, 'a request that reached a peer is not retried after a timeout')
      const next = await send(proxy.url, { path: '/after', jar: new CookieJar() })
      assert.is(next.status, 200, 'the proxy still serves')
    }),
  )
}
