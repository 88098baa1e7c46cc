import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ATTEMPT_EVENTS, attemptBudget, isIdempotent, judgeAttempt } from '../src/attempt'
import type { AttemptEvent, AttemptFacts } from '../src/attempt'
import { fcParams } from './_fc'

const CLIENT_EVENTS: readonly AttemptEvent[] = ['client-gone', 'client-body-failed', 'client-stalled', 'proxy-failed']
const STALE_ONLY: readonly AttemptEvent[] = ['stale-connection']

const method = fc.oneof(
  fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'POST', 'PATCH', 'LOCK', 'CONNECT', 'get', 'Put'),
  fc.string({ maxLength: 8 }),
)
const facts: fc.Arbitrary<AttemptFacts> = fc.record({
  method,
  bodyReplayable: fc.boolean(),
  tried: fc.integer({ min: 1, max: 12 }),
  retries: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
  peers: fc.integer({ min: 1, max: 12 }),
  resent: fc.boolean(),
})
const event = fc.constantFrom(...ATTEMPT_EVENTS)
const base: AttemptFacts = { method: 'GET', bodyReplayable: true, tried: 1, retries: undefined, peers: 3, resent: false }

const Idempotent = suite('isIdempotent')

Idempotent('should accept exactly the idempotent methods of RFC 9110 section 9.2.2', () => {
  for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']) assert.ok(isIdempotent(m), m)
  for (const m of ['POST', 'PATCH', 'LOCK', 'CONNECT', 'get', 'Delete', '', '__proto__', 'constructor']) assert.not.ok(isIdempotent(m), m)
})
Idempotent.run()

const Budget = suite('attemptBudget')

Budget('should allow every configured peer once by default, and the first plus retries otherwise', () => {
  assert.is(attemptBudget(undefined, 3), 3)
  assert.is(attemptBudget(undefined, 1), 1)
  assert.is(attemptBudget(undefined, 0), 1)
  assert.is(attemptBudget(0, 5), 1)
  assert.is(attemptBudget(2, 5), 3)
  assert.is(attemptBudget(9, 2), 10, 'the balancer, not the budget, stops at the peers there are')
})
Budget.run()

const Judge = suite('judgeAttempt')

Judge('should relay and credit a response head, early or not', () => {
  for (const e of ['peer-answered', 'peer-answered-early'] as const) {
    for (const m of ['GET', 'POST']) {
      const v = judgeAttempt(e, { ...base, method: m, bodyReplayable: false })
      assert.equal([v.blame, v.credit, v.next, v.status, v.error], [false, true, 'relay', undefined, undefined], `${e} ${m}`)
    }
  }
})

Judge('should answer 502 without blame or retry when the peer closes during the upload (a refused upload whose answer the reset took)', () => {
  for (const m of ['POST', 'PUT', 'GET']) {
    const v = judgeAttempt('peer-closed-during-upload', { ...base, method: m, bodyReplayable: false })
    assert.equal([v.blame, v.credit, v.next, v.status, v.error], [false, false, 'answer', 502, 'upstream-aborted'], m)
  }
  assert.is(judgeAttempt('peer-closed-during-upload', base).next, 'answer', 'never retried, whatever the facts')
})

Judge('should blame a refused connection and retry an idempotent request on another peer while the budget lasts', () => {
  const v = judgeAttempt('connect-failed', base)
  assert.equal([v.blame, v.next, v.status, v.error], [true, 'retry-other', 502, 'connect'])
  assert.is(judgeAttempt('connect-failed', { ...base, tried: 3 }).next, 'answer', 'every peer tried once')
  assert.is(judgeAttempt('connect-failed', { ...base, retries: 0 }).next, 'answer', 'retries 0')
  assert.is(judgeAttempt('connect-failed', { ...base, method: 'POST' }).next, 'answer', 'POST is never retried')
  assert.is(judgeAttempt('connect-failed', { ...base, method: 'PUT', bodyReplayable: false }).next, 'answer', 'a body that left')
  assert.is(judgeAttempt('peer-reset', base).next, 'retry-other')
  assert.ok(judgeAttempt('peer-reset', base).blame)
})

Judge('should answer 504 to a connect timeout when no retry is left, and retry it otherwise', () => {
  const retry = judgeAttempt('connect-timeout', base)
  assert.equal([retry.blame, retry.next, retry.status, retry.error], [true, 'retry-other', 504, 'timeout'])
  const last = judgeAttempt('connect-timeout', { ...base, tried: 3 })
  assert.equal([last.blame, last.next, last.status], [true, 'answer', 504])
})

Judge('should blame a silent peer with 504 and never send its request elsewhere', () => {
  const v = judgeAttempt('peer-silent', base)
  assert.equal([v.blame, v.next, v.status, v.error], [true, 'answer', 504, 'timeout'])
})

Judge('should blame a protocol error (502) and a cut response, without retrying', () => {
  const protocol = judgeAttempt('peer-protocol-error', base)
  assert.equal([protocol.blame, protocol.next, protocol.status, protocol.error], [true, 'answer', 502, 'protocol'])
  const cut = judgeAttempt('peer-cut-response', base)
  assert.equal([cut.blame, cut.next, cut.error], [true, 'answer', 'upstream-aborted'])
})

Judge('should resend a stale connection once, without blame, for an idempotent request that can be sent again', () => {
  const v = judgeAttempt('stale-connection', base)
  assert.equal([v.blame, v.next], [false, 'resend-same'])
  const again = judgeAttempt('stale-connection', { ...base, resent: true })
  assert.equal([again.blame, again.next, again.status], [false, 'answer', 502], 'only once')
  assert.is(judgeAttempt('stale-connection', { ...base, method: 'POST' }).next, 'answer', 'the peer may have read a POST')
  assert.is(judgeAttempt('stale-connection', { ...base, bodyReplayable: false }).next, 'answer')
})

Judge('should never blame the peer for the client', () => {
  const gone = judgeAttempt('client-gone', base)
  assert.equal([gone.blame, gone.credit, gone.next, gone.status, gone.error], [false, false, 'answer', 499, 'client-aborted'])
  const body = judgeAttempt('client-body-failed', base)
  assert.equal([body.blame, body.credit, body.next, body.status, body.error], [false, false, 'answer', 400, 'client-body'])
  const stalled = judgeAttempt('client-stalled', base)
  assert.equal([stalled.blame, stalled.credit, stalled.next, stalled.status, stalled.error], [false, false, 'answer', 408, 'client-timeout'])
})

Judge("should blame nobody for the proxy's own failures, and not retry them", () => {
  const v = judgeAttempt('proxy-failed', base)
  assert.equal([v.blame, v.credit, v.next, v.status, v.error], [false, false, 'answer', 502, 'proxy'])
})

Judge('property: a request that is not idempotent, or whose body left, is never sent again', () => {
  fc.assert(
    fc.property(event, facts, (e, f) => {
      const v = judgeAttempt(e, f)
      if (!isIdempotent(f.method) || !f.bodyReplayable) assert.ok(v.next === 'relay' || v.next === 'answer', `${e} ${f.method}`)
    }),
    fcParams(),
  )
})

Judge("property: no client-side event, no failure of the proxy's own, no stale connection and no close during an upload ever blames the peer", () => {
  fc.assert(
    fc.property(fc.constantFrom(...CLIENT_EVENTS, ...STALE_ONLY, 'peer-closed-during-upload' as const), facts, (e, f) => {
      const v = judgeAttempt(e, f)
      assert.not.ok(v.blame)
      assert.not.ok(v.credit)
      assert.ok(v.next === 'answer' || v.next === 'resend-same')
    }),
    fcParams(),
  )
})

Judge('property: the retry budget is never exceeded, and a resend happens at most once per peer', () => {
  fc.assert(
    fc.property(event, facts, (e, f) => {
      const v = judgeAttempt(e, f)
      if (v.next === 'retry-other') assert.ok(f.tried < attemptBudget(f.retries, f.peers))
      if (v.next === 'resend-same') assert.not.ok(f.resent)
    }),
    fcParams(),
  )
})

Judge('property: every verdict is consistent (blame and credit exclusive, a status with every non-relay)', () => {
  fc.assert(
    fc.property(event, facts, (e, f) => {
      const v = judgeAttempt(e, f)
      assert.not.ok(v.blame && v.credit)
      assert.is(v.next === 'relay', v.status === undefined)
      assert.is(v.next === 'relay', v.error === undefined)
      assert.is(v.credit, v.next === 'relay')
      assert.ok(Object.isFrozen(v), 'verdicts are shared constants')
    }),
    fcParams(),
  )
})

Judge('property: a simulated request never makes more attempts than the budget, whatever keeps failing', () => {
  fc.assert(
    fc.property(fc.array(event, { minLength: 1, maxLength: 30 }), facts, (events, start) => {
      let tried = 1
      let resent = false
      let sends = 1
      for (const e of events) {
        const v = judgeAttempt(e, { ...start, tried, resent })
        if (v.next === 'retry-other') {
          tried += 1
          resent = false
          sends += 1
        } else if (v.next === 'resend-same') {
          resent = true
          sends += 1
        } else break
      }
      assert.ok(tried <= attemptBudget(start.retries, start.peers))
      assert.ok(sends <= 2 * attemptBudget(start.retries, start.peers))
    }),
    fcParams(),
  )
})
Judge.run()
