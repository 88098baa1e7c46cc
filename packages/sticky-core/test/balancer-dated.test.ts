import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createBalancer } from '../src/index'

// Regression: with refresh 'always' and an expiry, every hit used to allocate a new Decision although
// its Set-Cookie text only changes once a second.
const dated = suite('decide with a clock-dependent Set-Cookie')

dated('should reuse the decision within one second and renew it with the next', () => {
  let clock = Date.UTC(2026, 0, 1, 12, 0, 0, 100)
  const balancer = createBalancer({
    peers: ['127.0.0.1:9001', '127.0.0.1:9002'],
    cookie: { expires: 60 },
    refresh: 'always',
    now: () => clock,
  })
  const header = 'route=422db4e6da7b4bba46bd476612df0469'
  const first = balancer.decide(header)
  clock += 800
  const sameSecond = balancer.decide(header)
  assert.is(first.outcome, 'hit')
  assert.is(sameSecond, first)
  assert.ok(first.setCookie?.includes('Expires=Thu, 01 Jan 2026 12:01:00 GMT'), first.setCookie ?? 'null')
  clock += 200
  const nextSecond = balancer.decide(header)
  assert.is.not(nextSecond, first)
  assert.is(nextSecond.outcome, 'hit')
  assert.is(nextSecond.peer, first.peer)
  assert.ok(nextSecond.setCookie?.includes('Expires=Thu, 01 Jan 2026 12:01:01 GMT'), nextSecond.setCookie ?? 'null')
})

dated('should keep outcomes apart when they share a second', () => {
  const clock = Date.UTC(2026, 0, 1)
  const balancer = createBalancer({ peers: ['127.0.0.1:9001'], cookie: { expires: 60 }, refresh: 'always', now: () => clock })
  const fresh = balancer.decide(undefined)
  const hit = balancer.decide('route=422db4e6da7b4bba46bd476612df0469')
  const invalid = balancer.decide('route=forged')
  assert.equal([fresh.outcome, hit.outcome, invalid.outcome], ['new', 'hit', 'invalid'])
  assert.is(fresh.setCookie, hit.setCookie)
  assert.is(balancer.decide('route=forged'), invalid)
  assert.is(balancer.decide(undefined), fresh)
})

dated.run()
