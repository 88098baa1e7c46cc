import * as assert from 'uvu/assert'
import type { Backend } from './backend'
import { send } from './client'
import { CookieModel, startAdapter, startBackends, type SuiteContext } from './harness'
import { CookieJar } from './jar'
import { deadPort } from './ports'
import { withScope } from './scope'

/**
 * What an adapter does with neither `retries` nor `timeoutMs` given (sticky-core `attempt.ts`:
 * `attemptBudget(undefined, peers)` is every configured peer once, nginx's
 * `proxy_next_upstream_tries 0`; a non-idempotent request is never sent to a second peer).
 */
export function defaults(ctx: SuiteContext): void {
  const { test, factory } = ctx

  test('should try every peer once by default, so idempotent requests of new clients get 200 with all peers but one dead', () =>
    withScope(async (scope) => {
      const [live] = (await startBackends(scope, 1)) as [Backend]
      // Three peers as in nginx's default, and four so that a fixed default of two retries shows.
      for (const count of [3, 4]) {
        const dead = []
        for (let i = 1; i < count; i += 1) dead.push({ address: `127.0.0.1:${await deadPort()}`, maxFails: 0 })
        // maxFails 0 keeps the dead peers in the rotation. The live peer last: with the round robin
        // from a fresh start, some request meets every dead peer before it (checked with
        // sticky-core's balancer: one attempt fewer than the peers fails at least one of eight).
        const balancer = { peers: [...dead, { address: live.address }] }
        const proxy = await startAdapter(scope, factory, { balancer })
        const model = new CookieModel(balancer)
        for (const [i, method] of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'GET', 'GET', 'GET'].entries()) {
          const answer = await send(proxy.url, { method, path: `/default-budget?peers=${count}&i=${i}`, jar: new CookieJar() })
          const label = `${count} peers, request ${i + 1} (${method})`
          assert.is(answer.status, 200, `${label}: status`)
          model.assertPinnedToAnswerer(answer, [live], label)
          assert.is(model.setBy(answer), model.valueOf(live), `${label}: the new client is pinned to the live peer`)
        }
      }
    }))

  test('should answer 502 by default to a POST pinned to a dead peer, and never send it to another peer', () =>
    withScope(async (scope) => {
      const [live] = (await startBackends(scope, 1)) as [Backend]
      const dead = [
        { address: `127.0.0.1:${await deadPort()}`, maxFails: 0 },
        { address: `127.0.0.1:${await deadPort()}`, maxFails: 0 },
      ]
      // The live peer second: a GET pinned to the first dead peer reaches it on its first retry.
      const balancer = { peers: [dead[0] as { address: string }, { address: live.address }, dead[1] as { address: string }] }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      const pinned = (): CookieJar => {
        const jar = new CookieJar()
        jar.set(model.name, model.valueOf(dead[0] as { address: string }))
        return jar
      }
      for (const body of [Buffer.from('order=1'), Buffer.alloc(0), undefined]) {
        const label = `POST with ${body === undefined ? 'no body' : `${body.length} bytes`}`
        const answer = await send(proxy.url, { method: 'POST', path: '/default-post', jar: pinned(), ...(body === undefined ? {} : { body }) })
        assert.is(answer.status, 502, `${label}: status`)
        assert.is(answer.backend, undefined, `${label}: no peer answered`)
        assert.is(live.requests, 0, `${label}: the live peer never got the POST`)
      }
      // The same client's GET is retried there: the POSTs were not refused for want of a live peer.
      const get = await send(proxy.url, { path: '/default-get', jar: pinned() })
      model.assertPinnedToAnswerer(get, [live], 'GET pinned to the dead peer')
      assert.is(live.requests, 1, 'only the GET reached the live peer')
    }))
}
