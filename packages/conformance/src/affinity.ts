import * as assert from 'uvu/assert'
import type { BalancerOptions } from 'sticky-core'
import type { Backend } from './backend'
import { send, type Answer } from './client'
import { caseIf, CookieModel, peersOf, startAdapter, startBackends, type SuiteContext } from './harness'
import { CookieJar } from './jar'
import { sleep } from './ports'
import { withScope } from './scope'

/** Signing keys of the cases: 32 bytes each, as the codec requires. */
const NEW_KEY = { id: 'new', secret: 'conformance new key: 32 bytes ok' }
const OLD_KEY = { id: 'old', secret: 'conformance old key: 32 bytes ok' }
const FAIL_TIMEOUT = 1_000
const HEADER = 'X-Sticky-Route'
/** A whole second, so that token times (whole seconds) are exact. */
const T0 = Date.UTC(2026, 0, 1)

/** A clock the case moves by hand, shared by the adapter's balancer and the model. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = T0
  return {
    now: () => t,
    advance: (ms) => {
      t += ms
    },
  }
}

function jarWith(model: CookieModel, value: string): CookieJar {
  const jar = new CookieJar()
  jar.set(model.name, value)
  return jar
}

/** The first answer that is not the one discovering a stopped peer (an adapter without retries answers it 502). */
async function settle(url: string, jar: () => CookieJar): Promise<Answer> {
  let answer = await send(url, { jar: jar() })
  for (let i = 0; i < 2 && answer.status === 502; i += 1) answer = await send(url, { jar: jar() })
  return answer
}

/**
 * Issue 11 over real sockets: pin tokens (signed, rotating keys, lifetimes on an injected clock), each
 * failover rule, and the header carrier, for every adapter.
 */
export function affinity(ctx: SuiteContext): void {
  const { test, factory } = ctx

  test('should pin with a signed token, honour tokens of a same-options instance and refuse any other', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 3)
      const balancer: BalancerOptions = { peers: peersOf(backends), token: { keys: [NEW_KEY] } }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      const first = await send(proxy.url)
      const issued = model.setBy(first)
      assert.ok(issued !== undefined && /^1\.new\.[A-Za-z0-9_-]{47}$/.test(issued), `a token cookie, got ${String(issued)}`)
      for (const backend of backends) assert.not.ok(first.setCookies.join('\n').includes(backend.address), 'no address in the cookie')
      for (const backend of backends) {
        const again = await send(proxy.url, { jar: jarWith(model, model.valueOf(backend)) })
        assert.is(again.backend, backend.name, `a model token pins to ${backend.name}`)
        assert.is(model.setBy(again), undefined, 'a hit on a fresh token sets no cookie')
      }
      const foreign = new CookieModel({ peers: peersOf(backends), token: { keys: [{ id: 'new', secret: 'an attacker key, also 32 bytes ok' }] } })
      const forged = await send(proxy.url, { jar: jarWith(model, foreign.valueOf(backends[0]!)) })
      assert.is(forged.status, 200)
      const repinned = model.setBy(forged)
      assert.ok(repinned?.startsWith('1.new.'), 'a forged token is replaced by a token of ours')
    }))

  test('should honour a token of an older key and re-issue it with the first key', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const peers = peersOf(backends)
      const proxy = await startAdapter(scope, factory, { balancer: { peers, token: { keys: [NEW_KEY, OLD_KEY] } } })
      const before = new CookieModel({ peers, token: { keys: [OLD_KEY] } })
      const target = backends[1]!
      const answer = await send(proxy.url, { jar: jarWith(before, before.valueOf(target)) })
      assert.is(answer.backend, target.name)
      const reissued = before.setBy(answer)
      assert.ok(reissued?.startsWith('1.new.'), `re-issued with the new key, got ${String(reissued)}`)
      const after = await send(proxy.url, { jar: jarWith(before, reissued!) })
      assert.is(after.backend, target.name, 'the re-issued token pins to the same peer')
    }))

  caseIf(ctx, 'injectedClock', 'should re-issue a token past half of idle and treat an expired one as no cookie', async () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const clock = manualClock()
      const balancer: BalancerOptions = { peers: peersOf(backends), token: { keys: [NEW_KEY], idle: 60, maxAge: 600, skew: 0 }, now: clock.now }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      const target = backends[0]!
      const token = model.valueOf(target)
      clock.advance(20_000)
      const quiet = await send(proxy.url, { jar: jarWith(model, token) })
      assert.is(quiet.backend, target.name)
      assert.is(model.setBy(quiet), undefined, 'before idle / 2: no cookie')
      clock.advance(20_000)
      const renewed = await send(proxy.url, { jar: jarWith(model, token) })
      assert.is(renewed.backend, target.name)
      const next = model.setBy(renewed)
      assert.ok(next !== undefined && next !== token, 'past idle / 2: a new token')
      clock.advance(61_000)
      const expired = await send(proxy.url, { jar: jarWith(model, next!) })
      assert.is(expired.status, 200)
      const fresh = model.setBy(expired)
      assert.ok(fresh !== undefined && fresh !== next, 'an expired token gets a new pin')
    }),
  )

  test("should route a client pinned to a failed peer elsewhere without Set-Cookie under 'temporary', then back", () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const [target, other] = backends as [Backend, Backend]
      const balancer: BalancerOptions = { peers: peersOf(backends, { failTimeout: FAIL_TIMEOUT, maxFails: 1 }), failover: 'temporary' }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      const pinned = (): CookieJar => jarWith(model, model.valueOf(target))
      await target.stop()
      const away = await settle(proxy.url, pinned)
      assert.is(away.backend, other.name, 'the other peer answers')
      assert.is(model.setBy(away), undefined, 'no Set-Cookie: the client keeps its pin')
      await target.restart()
      await sleep(FAIL_TIMEOUT + 100)
      const back = await send(proxy.url, { jar: pinned() })
      assert.is(back.backend, target.name, 'back on its peer once it recovered')
    }))

  test("should answer a client pinned to a failed peer with strictStatus 503 under 'strict'", () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const [target, other] = backends as [Backend, Backend]
      const balancer: BalancerOptions = { peers: peersOf(backends, { failTimeout: 30_000, maxFails: 1 }), failover: 'strict', strictStatus: 503 }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      await target.stop()
      // The request that discovers the failure is answered as its attempt says (502); the next ones by the rule.
      await send(proxy.url, { jar: jarWith(model, model.valueOf(target)) })
      const refused = await send(proxy.url, { jar: jarWith(model, model.valueOf(target)) })
      assert.is(refused.status, 503)
      assert.is(refused.backend, undefined)
      const fresh = await send(proxy.url)
      assert.is(fresh.backend, other.name, 'a new client is served')
    }))

  test("should keep a client on its peer marked failed by passive health under 'persist'", () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const [target, other] = backends as [Backend, Backend]
      const balancer: BalancerOptions = { peers: peersOf(backends, { failTimeout: 30_000, maxFails: 1 }), failover: 'persist' }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      await target.stop()
      await send(proxy.url, { jar: jarWith(model, model.valueOf(target)) })
      await target.restart()
      // Still inside failTimeout: the peer is failed for new clients, not for its own.
      for (let i = 0; i < 3; i += 1) {
        const kept = await send(proxy.url, { jar: jarWith(model, model.valueOf(target)) })
        assert.is(kept.backend, target.name, `pinned request ${i + 1} stays on its peer`)
        assert.is(model.setBy(kept), undefined)
      }
      for (let i = 0; i < 2; i += 1) assert.is((await send(proxy.url)).backend, other.name, 'new clients avoid the failed peer')
    }))

  test('should carry the pin in a header for clients without cookies; the cookie wins when both come', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const [a, b] = backends as [Backend, Backend]
      const balancer: BalancerOptions = { peers: peersOf(backends), token: { keys: [NEW_KEY] }, header: HEADER }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      const first = await send(proxy.url)
      const carried = first.headers[HEADER.toLowerCase()]
      assert.type(carried, 'string', 'the pin comes back in the header')
      assert.is(carried, model.setBy(first), 'the same pin as the cookie')
      const byHeader = await send(proxy.url, { headers: { [HEADER]: model.valueOf(b) } })
      assert.is(byHeader.backend, b.name, 'the header pins')
      assert.is(byHeader.headers[HEADER.toLowerCase()], undefined, 'a hit sends nothing back')
      assert.is(model.setBy(byHeader), undefined)
      const both = await send(proxy.url, { jar: jarWith(model, model.valueOf(a)), headers: { [HEADER]: model.valueOf(b) } })
      assert.is(both.backend, a.name, 'the cookie wins')
    }))
}
