import * as assert from 'uvu/assert'
import { send } from './client'
import { CookieModel, peersOf, startAdapter, startBackends, type SuiteContext } from './harness'
import { CookieJar } from './jar'
import { withScope } from './scope'

/** First visit, pinning, spreading, and pins shared by instances. */
export function pinning(ctx: SuiteContext): void {
  const { test, factory } = ctx

  test('should set the route cookie on a first request, naming the peer that answered', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const balancer = { peers: peersOf(backends) }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      const answer = await send(proxy.url, { jar: new CookieJar() })
      const backend = model.assertPinnedToAnswerer(answer, backends)
      const line = answer.setCookies.find((l) => l.startsWith('route='))
      assert.ok(line, `a route cookie in ${JSON.stringify(answer.setCookies)}`)
      assert.is(model.setBy(answer), model.valueOf(backend))
      assert.match(line ?? '', /;\s*Path=\//)
    }))

  test('should pin each client to its peer across many requests', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 3)
      const balancer = { peers: peersOf(backends) }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      const jars = [new CookieJar(), new CookieJar(), new CookieJar()]
      const pinnedTo = await Promise.all(jars.map(async (jar) => model.assertPinnedToAnswerer(await send(proxy.url, { jar }), backends)))
      for (let round = 0; round < 8; round += 1) {
        for (const [i, jar] of jars.entries()) {
          const answer = await send(proxy.url, { jar, path: `/r${round}` })
          assert.is(answer.status, 200)
          assert.is(answer.backend, pinnedTo[i]?.name, `client ${i} round ${round}`)
        }
      }
    }))

  test('should spread new clients over every peer', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 3)
      const balancer = { peers: peersOf(backends) }
      const proxy = await startAdapter(scope, factory, { balancer })
      const seen = new Set<string>()
      for (let i = 0; i < 6; i += 1) {
        const answer = await send(proxy.url, { jar: new CookieJar() })
        assert.is(answer.status, 200)
        seen.add(answer.backend ?? '')
      }
      assert.equal(
        [...seen].sort(),
        backends.map((b) => b.name),
      )
    }))

  test('should keep pins across a second adapter instance built from the same options', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 3)
      const balancer = { peers: peersOf(backends) }
      const first = await startAdapter(scope, factory, { balancer })
      const second = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      const jars = [new CookieJar(), new CookieJar(), new CookieJar()]
      for (const jar of jars) {
        const pinned = model.assertPinnedToAnswerer(await send(first.url, { jar }), backends)
        for (let i = 0; i < 3; i += 1) {
          const answer = await send(second.url, { jar })
          assert.is(answer.backend, pinned.name, "the second instance honours the first one's cookie")
          const value = model.setBy(answer)
          if (value !== undefined) assert.is(value, model.valueOf(pinned))
        }
      }
    }))
}
