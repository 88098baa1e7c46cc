import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createBalancer, type Balancer, type Decision, type FailoverRule } from '../src/balancer'
import type { TokenKey } from '../src/token'
import { manualClock } from './_balancer'
import { fcParams } from './_fc'

const T0 = Date.UTC(2026, 0, 1)
const K1: TokenKey = { id: 'k1', secret: 'k1 secret: thirty-two bytes long' }
const K2: TokenKey = { id: 'k2', secret: 'k2 secret: thirty-two bytes long' }
const FOREIGN: TokenKey = { id: 'k1', secret: 'not our secret, but 32 bytes too' }
const ADDRESSES = ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003', '[::1]:9004']

function pairOf(setCookie: string): string {
  return setCookie.split(';')[0]!
}

/** Outcomes under which the request's own pin was honoured. */
function pinned(d: Decision): boolean {
  return d.outcome === 'hit' || d.outcome === 'persisted'
}

const arbitraryLifetimes = fc.record({
  maxAge: fc.integer({ min: 2, max: 10_000 }),
  idle: fc.integer({ min: 2, max: 10_000 }),
  skew: fc.integer({ min: 0, max: 120 }),
})

/** Ways to turn a genuine token into a value that no configured key produced. */
const arbitraryMutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('reencode' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('random' as const), text: fc.string({ maxLength: 80 }) }),
  fc.record({ kind: fc.constant('foreign' as const) }),
  fc.record({ kind: fc.constant('swap-key-id' as const) }),
  fc.record({ kind: fc.constant('redate' as const), by: fc.integer({ min: 1, max: 2 ** 30 }) }),
)

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

function mutate(token: string, m: Mutation, foreign: string): string {
  switch (m.kind) {
    case 'flip': {
      const at = m.at % token.length
      const c = ALPHABET.indexOf(token[at]!)
      const flipped = c < 0 ? (token[at] === '.' ? '-' : 'A') : ALPHABET[c ^ (1 << m.bit)]!
      return token.slice(0, at) + flipped + token.slice(at + 1)
    }
    case 'truncate':
      return token.slice(0, m.at % token.length)
    case 'reencode': {
      // The same bytes spelt otherwise: standard base64's alphabet, or padding.
      const body = token.slice(token.lastIndexOf('.') + 1)
      return m.at % 2 === 0 ? token.replace(body, `${body}=`) : token.replace(/-/g, '+').replace(/_/g, '/') + (/[-_]/.test(token) ? '' : '=')
    }
    case 'random':
      return m.text
    case 'foreign':
      return foreign
    case 'swap-key-id':
      return token.replace('1.k1.', '1.k2.')
    case 'redate': {
      const prefix = token.slice(0, token.lastIndexOf('.') + 1)
      const body = Buffer.from(token.slice(prefix.length), 'base64url')
      const issued = body[14]! * 2 ** 32 + body.readUInt32BE(15)
      const later = issued + m.by
      body[14] = Math.floor(later / 2 ** 32)
      body.writeUInt32BE(later >>> 0, 15)
      return prefix + body.toString('base64url')
    }
  }
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'reencode'; at: number }
  | { kind: 'random'; text: string }
  | { kind: 'foreign' }
  | { kind: 'swap-key-id' }
  | { kind: 'redate'; by: number }

const Properties = suite('balancer affinity properties')

Properties('no value that a configured key did not produce ever pins (cookie or header)', () => {
  fc.assert(
    fc.property(arbitraryMutation, fc.nat(ADDRESSES.length - 1), fc.boolean(), (mutation, index, viaHeader) => {
      const clock = manualClock(T0)
      const b = createBalancer({ peers: ADDRESSES, token: { keys: [K1, K2], maxAge: 3600 }, header: 'X-Pin', now: clock.now })
      const stranger = createBalancer({ peers: ADDRESSES, token: { keys: [FOREIGN] }, now: clock.now })
      const genuine = b.cookieValue(b.peers[index]!)
      const forged = mutate(genuine, mutation as Mutation, stranger.cookieValue(stranger.peers[index]!))
      fc.pre(forged !== genuine)
      const d = viaHeader ? b.decide(undefined, { header: forged }) : b.decide(`route=${forged}`)
      assert.ok(d.outcome === 'new' || d.outcome === 'invalid', `${JSON.stringify(forged)} gave ${d.outcome}`)
      assert.match(d.setCookie ?? '', /^route=1\.k1\.[A-Za-z0-9_-]{47}; Path=\/$/, 'a fresh token of our own, nothing of the request')
    }),
    fcParams(1000),
  )
})

Properties('a token never pins past maxAge + skew, nor idle + skew without a refresh, and an active client stays pinned until maxAge', () => {
  fc.assert(
    fc.property(arbitraryLifetimes, fc.array(fc.integer({ min: 0, max: 8_000_000 }), { minLength: 1, maxLength: 30 }), (lifetimes, gaps) => {
      const clock = manualClock(T0 + 500)
      const b = createBalancer({ peers: ADDRESSES, token: { keys: [K1], ...lifetimes }, now: clock.now })
      const first = b.decide(undefined)
      let cookie = pairOf(first.setCookie!)
      // Whole seconds, as the token stores them.
      let born = Math.floor(clock.now() / 1000) * 1000
      let issued = born
      for (const gap of gaps) {
        clock.advance(gap)
        const now = clock.now()
        const d = b.decide(cookie)
        if (pinned(d)) {
          assert.ok(now - born < (lifetimes.maxAge + lifetimes.skew) * 1000, `pinned ${now - born} ms after born`)
          assert.ok(now - issued < (lifetimes.idle + lifetimes.skew) * 1000, `pinned ${now - issued} ms after issue`)
        } else {
          assert.is(d.outcome, 'new', 'an expired token is no cookie')
          // Expired only when a limit (with one second of rounding) is reached.
          assert.ok(now - born + 1000 >= lifetimes.maxAge * 1000 || now - issued + 1000 >= lifetimes.idle * 1000, 'expired early')
          born = Math.floor(now / 1000) * 1000
        }
        if (d.setCookie !== null) {
          cookie = pairOf(d.setCookie)
          issued = Math.floor(now / 1000) * 1000
        }
      }
    }),
    fcParams(300),
  )
})

Properties('key rotation keeps every client pinned to its peer', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 3_000_000 }), (clients, pause) => {
      const clock = manualClock(T0)
      const token = { maxAge: 86_400, idle: 7200 }
      const before = createBalancer({ peers: ADDRESSES, token: { keys: [K2], ...token }, now: clock.now })
      const cookies = Array.from({ length: clients }, () => before.decide(undefined))
      clock.advance(pause)
      // The new key goes in front; the old one stays until every client has been back.
      const during = createBalancer({ peers: ADDRESSES, token: { keys: [K1, K2], ...token }, now: clock.now })
      const moved = cookies.map((d) => {
        const again = during.decide(pairOf(d.setCookie!))
        assert.is(again.outcome, 'hit')
        assert.is(again.peer?.id, d.peer?.id)
        assert.ok(again.setCookie !== null, 'rotated to the first key')
        return again
      })
      const after = createBalancer({ peers: ADDRESSES, token: { keys: [K1], ...token }, now: clock.now })
      for (const d of moved) {
        const last = after.decide(pairOf(d.setCookie!))
        assert.is(last.outcome, 'hit')
        assert.is(last.peer?.id, d.peer?.id)
      }
    }),
    fcParams(100),
  )
})

Properties('two instances with the same options agree on every pin and every decision', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ gap: fc.integer({ min: 0, max: 600_000 }), from: fc.boolean(), client: fc.nat(5) }), { minLength: 1, maxLength: 40 }),
      arbitraryLifetimes,
      (steps, lifetimes) => {
        const clock = manualClock(T0)
        const options = { peers: ADDRESSES, token: { keys: [K1, K2], ...lifetimes }, header: 'X-Pin', now: clock.now }
        const a = createBalancer(options)
        const b = createBalancer(options)
        const jars: (string | undefined)[] = []
        for (const step of steps) {
          clock.advance(step.gap)
          const cookie = jars[step.client]
          const [mine, theirs] = step.from ? [a, b] : [b, a]
          const d = mine.decide(cookie)
          // Both read the same pin the same way; only the round robin of new clients is per instance.
          if (cookie !== undefined) {
            const other = theirs.decide(cookie)
            assert.is(other.outcome, d.outcome)
            if (pinned(d)) {
              assert.is(other.peer?.id, d.peer?.id)
              assert.is(other.setCookie, d.setCookie)
            }
          }
          if (d.setCookie !== null) jars[step.client] = pairOf(d.setCookie)
        }
      },
    ),
    fcParams(200),
  )
})

interface FailoverScenario {
  readonly rule: FailoverRule
  readonly token: boolean
  readonly failures: readonly number[]
  readonly down: readonly boolean[]
  readonly excluded: readonly boolean[]
  readonly pin: number
}

const arbitraryFailover: fc.Arbitrary<FailoverScenario> = fc.record({
  rule: fc.constantFrom<FailoverRule>('repin', 'temporary', 'strict', 'persist'),
  token: fc.boolean(),
  failures: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: ADDRESSES.length, maxLength: ADDRESSES.length }),
  down: fc.array(
    fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    { minLength: ADDRESSES.length, maxLength: ADDRESSES.length },
  ),
  excluded: fc.array(
    fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
    { minLength: ADDRESSES.length, maxLength: ADDRESSES.length },
  ),
  pin: fc.nat(ADDRESSES.length - 1),
})

function failoverBalancer(s: FailoverScenario, now: () => number): Balancer {
  const peers = ADDRESSES.map((address, i) => ({ address, maxFails: 1, failTimeout: 10_000, down: s.down[i] }))
  return createBalancer({ peers, failover: s.rule, header: 'X-Pin', now, ...(s.token ? { token: { keys: [K1] } } : {}) })
}

Properties('every failover rule does what it says, and temporary never sends a pin', () => {
  fc.assert(
    fc.property(arbitraryFailover, (s) => {
      const clock = manualClock(T0)
      const b = failoverBalancer(s, clock.now)
      const pinnedPeer = b.peers[s.pin]!
      const cookie = `route=${b.cookieValue(pinnedPeer)}`
      b.peers.forEach((p, i) => {
        for (let n = 0; n < s.failures[i]!; n++) b.report(p, false)
      })
      const exclude = b.peers.filter((_, i) => s.excluded[i])
      const d = b.decide(cookie, { exclude })
      const failed = s.failures[s.pin]! > 0
      const blocked = pinnedPeer.down || s.excluded[s.pin]!
      if (!blocked && !failed) {
        assert.is(d.outcome, 'hit')
        assert.is(d.peer, pinnedPeer)
        return
      }
      if (!blocked && s.rule === 'persist') {
        assert.is(d.outcome, 'persisted', 'passive failures do not move a persisted client')
        assert.is(d.peer, pinnedPeer)
        assert.is(d.setCookie, null)
        return
      }
      assert.is.not(d.peer, pinnedPeer)
      if (s.rule === 'strict') {
        assert.is(d.outcome, 'unavailable')
        return
      }
      if (d.outcome === 'unavailable') return
      if (s.rule === 'temporary') {
        assert.is(d.outcome, 'temporary')
        assert.is(d.setCookie, null, 'no Set-Cookie for a temporary route')
        assert.is(d.headerValue, null, 'no header pin for a temporary route')
        // The pin is intact: once the peer recovers (and is not down or excluded) the client is back.
        if (!pinnedPeer.down) {
          clock.advance(10_000)
          const back = b.decide(cookie)
          assert.is(back.peer, pinnedPeer)
        }
      } else {
        assert.is(d.outcome, 'repinned')
        assert.ok(d.setCookie !== null && d.headerValue !== null)
      }
    }),
    fcParams(1000),
  )
})

Properties('persist ignores any sequence of passive failures, but not down', () => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { maxLength: 20 }), fc.nat(ADDRESSES.length - 1), fc.boolean(), (reports, pin, token) => {
      const clock = manualClock(T0)
      const peers = ADDRESSES.map((address) => ({ address, maxFails: 2, failTimeout: 5_000 }))
      const b = createBalancer({ peers, failover: 'persist', now: clock.now, ...(token ? { token: { keys: [K1] } } : {}) })
      const peer = b.peers[pin]!
      const cookie = `route=${b.cookieValue(peer)}`
      for (const ok of reports) {
        b.report(peer, ok)
        clock.advance(1_000)
        const d = b.decide(cookie)
        assert.ok(pinned(d), d.outcome)
        assert.is(d.peer, peer)
      }
      b.setPeers(peers.map((p, i) => ({ ...p, down: i === pin })))
      const moved = b.decide(cookie)
      assert.is(moved.outcome, 'repinned')
      assert.is.not(moved.peer?.id, peer.id)
    }),
    fcParams(300),
  )
})

Properties.run()
