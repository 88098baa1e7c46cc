import * as assert from 'uvu/assert'
import type { Backend } from './backend'
import { send, type Answer } from './client'
import { assertStaysOn, CookieModel, peersOf, startAdapter, startBackends, type SuiteContext } from './harness'
import { CookieJar } from './jar'
import { sleep } from './ports'
import { withScope } from './scope'

/**
 * Long enough that the few requests right after a failure, and right after the recovery probe,
 * surely fall inside the window (what the cases check), short enough to wait out.
 */
const FAIL_TIMEOUT = 1_000

/**
 * Why these cases catch an adapter that never reports a success (sticky-core `health.ts`): with
 * `maxFails: 1` one failure takes the peer out for `failTimeout`. Once that passed, the next
 * request pinned to it is the probe: `noteSelected` moves `checked` to now, so unless the probe's
 * success is reported (`noteSuccess` clears `fails` because `accessed < checked`), the peer is out
 * again for another `failTimeout` from the probe, and the second pinned request goes elsewhere
 * (or gets 502 without fallback). The probe and the three requests after it take milliseconds, far
 * inside that second window.
 */
const MAX_FAILS = 1

function pinnedTo(model: CookieModel, backend: Backend): CookieJar {
  const jar = new CookieJar()
  jar.set(model.name, model.valueOf(backend))
  return jar
}

/** A peer that failed, came back and served its probe is a peer in full service again. */
export function recovery(ctx: SuiteContext): void {
  const { test, factory } = ctx

  test('should keep clients on a recovered peer after failTimeout, its first success clearing the failures', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const [target, other] = backends as [Backend, Backend]
      const balancer = { peers: peersOf(backends, { failTimeout: FAIL_TIMEOUT, maxFails: MAX_FAILS }) }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      await assertStaysOn(proxy.url, model, target, 'before the stop', 1)

      await target.stop()
      // The request that discovers the failure may itself get a 502 from an adapter without retries.
      let answer: Answer | undefined
      for (let i = 0; i < 3 && answer?.status !== 200; i += 1) answer = await send(proxy.url, { jar: pinnedTo(model, target) })
      model.assertPinnedToAnswerer(answer as Answer, backends, 'while the peer is down')
      assert.is(answer?.backend, other.name, 'while the peer is down, the other peer answers')
      assert.is(model.setBy(answer as Answer), model.valueOf(other), 'while the peer is down, the client is re-pinned to the other peer')

      await target.restart()
      const early = await send(proxy.url, { jar: pinnedTo(model, target) })
      assert.is(early.status, 200, 'back but inside failTimeout: status')
      assert.is(early.backend, other.name, 'back but inside failTimeout, the failure still counts: the other peer answers')

      await sleep(FAIL_TIMEOUT + 100)
      // The first request is the probe; the next three fail when its success was not reported.
      await assertStaysOn(proxy.url, model, target, 'after failTimeout', 4)
    }))

  test('should answer 502 to a client pinned to a down peer without fallback, then keep it on the recovered peer', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const [target, other] = backends as [Backend, Backend]
      const balancer = { peers: peersOf(backends, { failTimeout: FAIL_TIMEOUT, maxFails: MAX_FAILS }), fallback: false }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      await assertStaysOn(proxy.url, model, target, 'before the stop', 1)

      await target.stop()
      for (let i = 0; i < 2; i += 1) {
        const down = await send(proxy.url, { jar: pinnedTo(model, target) })
        assert.is(down.status, 502, `while the peer is down, pinned request ${i + 1}`)
        assert.is(down.backend, undefined, 'while the peer is down, no peer answers')
      }

      await target.restart()
      const early = await send(proxy.url, { jar: pinnedTo(model, target) })
      assert.is(early.status, 502, 'back but inside failTimeout, the failure still counts: 502')
      const fresh = await send(proxy.url, { jar: new CookieJar() })
      assert.is(fresh.backend, other.name, 'a new client goes to the peer in service')

      await sleep(FAIL_TIMEOUT + 100)
      await assertStaysOn(proxy.url, model, target, 'after failTimeout', 4)
    }))
}
