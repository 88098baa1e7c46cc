import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createBalancer, type Balancer, type BalancerOptions, type Decision } from '../src/balancer'
import type { Peer, PeerOptions } from '../src/peers'
import { fcParams } from './_fc'
import { manualClock, nodeDigest, nodeHmac } from './_balancer'

type Mode = { readonly hash: 'md5' | 'sha1' | 'index' | 'raw' } | { readonly hmac: { readonly algorithm: 'md5' | 'sha1' | 'sha256'; readonly key: string } }

interface Scenario {
  readonly peers: readonly PeerOptions[]
  readonly mode: Mode
  readonly fallback: boolean
  readonly refresh: 'assign' | 'always'
  /** Failures reported per peer before the request, all at the same instant. */
  readonly failures: readonly number[]
  /** Peers excluded for the request (a retry). */
  readonly excluded: readonly boolean[]
}

const arbitraryMode: fc.Arbitrary<Mode> = fc.oneof(
  fc.constantFrom('md5', 'sha1', 'index', 'raw').map((hash) => ({ hash })),
  fc.record({ algorithm: fc.constantFrom('md5', 'sha1', 'sha256'), key: fc.string({ minLength: 1, maxLength: 8 }) }).map((hmac) => ({ hmac })),
)

const arbitraryPeer = (port: number): fc.Arbitrary<PeerOptions> =>
  fc
    .record({
      address: fc.constant(`127.0.0.1:${port}`),
      weight: fc.integer({ min: 1, max: 5 }),
      maxFails: fc.integer({ min: 0, max: 2 }),
      backup: fc.boolean(),
      state: fc.constantFrom('up', 'up', 'up', 'down', 'drain'),
      route: fc.option(fc.constantFrom('blue', 'green', 'r-1'), { nil: undefined }),
    })
    .map(({ state, ...p }) => ({ ...p, down: state === 'down', drain: state === 'drain' }))

const arbitraryScenario: fc.Arbitrary<Scenario> = fc.integer({ min: 1, max: 5 }).chain((count) =>
  fc.record({
    peers: fc.tuple(...Array.from({ length: count }, (_, i) => arbitraryPeer(9001 + i))).map((peers) => {
      // At least one primary, and routes unique: the configuration must be valid.
      const seen = new Set<string>()
      return peers.map((p, i) => {
        const route = p.route !== undefined && !seen.has(p.route) ? p.route : undefined
        if (route !== undefined) seen.add(route)
        return { ...p, route, backup: i === 0 ? false : p.backup }
      })
    }),
    mode: arbitraryMode,
    fallback: fc.boolean(),
    refresh: fc.constantFrom('assign' as const, 'always' as const),
    failures: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: count, maxLength: count }),
    excluded: fc.array(
      fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
      { minLength: count, maxLength: count },
    ),
  }),
)

function build(s: Scenario): Balancer {
  const balancer = createBalancer({ peers: s.peers, ...s.mode, fallback: s.fallback, refresh: s.refresh, now: manualClock().now } as BalancerOptions)
  balancer.peers.forEach((peer, i) => {
    for (let f = 0; f < (s.failures[i] ?? 0); f++) balancer.report(peer, false)
  })
  return balancer
}

const expectedValues = new WeakMap<Scenario, string[]>()

/** The cookie value computed here with node:crypto, independently of the code under test (cached per scenario). */
function expectedValue(s: Scenario, index: number): string {
  let values = expectedValues.get(s)
  if (values === undefined) {
    values = s.peers.map((_, i) => computeExpectedValue(s, i))
    expectedValues.set(s, values)
  }
  return values[index]!
}

function computeExpectedValue(s: Scenario, index: number): string {
  const peer = s.peers[index]!
  if ('hmac' in s.mode) return nodeHmac(s.mode.hmac.algorithm, s.mode.hmac.key, peer.route ?? peer.address)
  if (peer.route !== undefined) return peer.route
  if (s.mode.hash === 'raw') return peer.address
  if (s.mode.hash === 'index') {
    const primaries = s.peers.filter((p) => p.backup !== true)
    const backups = s.peers.filter((p) => p.backup === true)
    return String([...primaries, ...backups].indexOf(peer))
  }
  return nodeDigest(s.mode.hash, peer.address)
}

/** nginx's usability, restated: every failure was reported at the current instant. */
function usable(s: Scenario, index: number, forHit: boolean): boolean {
  const peer = s.peers[index]!
  if (peer.down === true || s.excluded[index] === true) return false
  if (!forHit && peer.drain === true) return false
  const single = s.peers.length === 1
  const maxFails = peer.maxFails ?? 1
  return single || maxFails === 0 || (s.failures[index] ?? 0) < maxFails
}

function excludeList(balancer: Balancer, s: Scenario): Peer[] {
  return balancer.peers.filter((_, i) => s.excluded[i] === true)
}

/** A cookie pair in a header: the route cookie with a real, damaged or forged value, or another cookie. */
type Pair = { readonly name: string; readonly value: string }

/** Values that name no peer, or only by accident; built once, as building fc.stringMatching is costly. */
const forgedValue: fc.Arbitrary<{ value: string }> = fc
  .oneof(fc.stringMatching(/^[0-9a-f]{32}$/), fc.string({ unit: fc.constantFrom(...'abc019-_.:/[]!#$%&'), maxLength: 12 }))
  .map((value) => ({ value }))
const otherName = fc.constantFrom('Route', 'routes', 'session', 'xroute')

const arbitraryPairs = (s: Scenario): fc.Arbitrary<Pair[]> => {
  const real = s.peers.map((_, i) => i)
  const value = fc.oneof(
    fc.constantFrom(...real).map((i) => ({ value: expectedValue(s, i) })),
    fc
      .constantFrom(...real)
      .chain((i) => fc.integer({ min: 0, max: Math.max(0, expectedValue(s, i).length - 1) }).map((n) => ({ value: expectedValue(s, i).slice(0, n) }))),
    fc.constantFrom(...real).map((i) => ({ value: `${expectedValue(s, i)}0` })),
    forgedValue,
  )
  return fc.array(
    fc.oneof(
      { weight: 3, arbitrary: value.map((v) => ({ name: 'route', ...v })) },
      { weight: 1, arbitrary: fc.tuple(otherName, value).map(([name, v]) => ({ name, ...v })) },
    ),
    { maxLength: 4 },
  )
}

/** What the first `route` pair names: a peer index, a value naming none, or no cookie. */
function cookieTarget(s: Scenario, pairs: readonly Pair[]): number | 'invalid' | 'none' {
  const first = pairs.find((p) => p.name === 'route')
  if (first === undefined) return 'none'
  // A damaged value may still equal another peer's value (a route like 'r-1' truncated to 'r'): look it up.
  const index = s.peers.findIndex((_, i) => expectedValue(s, i) === first.value)
  return index === -1 ? 'invalid' : index
}

function assertAssignment(s: Scenario, balancer: Balancer, d: Decision, outcome: Decision['outcome']): void {
  const newcomers = s.peers.map((_, i) => i).filter((i) => usable(s, i, false))
  if (newcomers.length === 0) {
    assert.is(d.outcome, 'unavailable')
    return
  }
  assert.is(d.outcome, outcome)
  const index = balancer.peers.indexOf(d.peer!)
  assert.ok(newcomers.includes(index), `assigned peer ${index} is not usable for new clients`)
  const primaries = newcomers.filter((i) => s.peers[i]!.backup !== true)
  if (primaries.length > 0) assert.ok(primaries.includes(index), 'a backup got a new client while a primary was usable')
  assert.is(d.setCookie, `route=${expectedValue(s, index)}; Path=/`)
}

const Properties = suite('Balancer.decide properties')

Properties('should decide as nginx would for every configuration, failure state, retry and cookie', () => {
  fc.assert(
    fc.property(
      arbitraryScenario.chain((s) => fc.tuple(fc.constant(s), arbitraryPairs(s))),
      ([s, pairs]) => {
        const balancer = build(s)
        const header = pairs.map((p) => `${p.name}=${p.value}`).join('; ')
        const d = balancer.decide(header, { exclude: excludeList(balancer, s) })
        assert.ok(Object.isFrozen(d))
        assert.is(d.status, d.peer === null ? 502 : undefined)
        if (d.peer === null) assert.is(d.setCookie, null)
        else assert.ok(balancer.peers.includes(d.peer), 'a peer that is not configured')

        const target = cookieTarget(s, pairs)
        if (target === 'none') return assertAssignment(s, balancer, d, 'new')
        if (target === 'invalid') return assertAssignment(s, balancer, d, 'invalid')
        if (usable(s, target, true)) {
          assert.is(d.outcome, 'hit')
          assert.is(d.peer, balancer.peers[target])
          assert.is(d.setCookie, s.refresh === 'always' ? `route=${expectedValue(s, target)}; Path=/` : null)
          return
        }
        if (!s.fallback) {
          assert.is(d.outcome, 'unavailable')
          assert.is(d.peer, null)
          return
        }
        assertAssignment(s, balancer, d, 'repinned')
        assert.is.not(d.peer, balancer.peers[target])
      },
    ),
    fcParams(2000),
  )
})

const hostileUnit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...'route=;, "\\\t0123456789abcdef') },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
)

Properties('should never throw, never name an unknown peer, and never echo the request in Set-Cookie', () => {
  fc.assert(
    fc.property(
      arbitraryScenario,
      fc.array(fc.oneof(fc.string({ unit: hostileUnit, maxLength: 60 }), fc.constant('route=')), { maxLength: 4 }),
      fc.integer({ min: 0, max: 4 }),
      fc.constantFrom('; ', ';', ' ; ', ''),
      (s, pieces, realAt, separator) => {
        const balancer = build(s)
        const values = s.peers.map((_, i) => expectedValue(s, i))
        // Mix real values of peers in with the hostile pieces, so that headers name peers too.
        const parts = [...pieces]
        parts.splice(Math.min(realAt, parts.length), 0, `route=${values[realAt % values.length]}`)
        const header = parts.join(separator)
        const d = balancer.decide(header, { exclude: excludeList(balancer, s) })
        if (d.peer === null) return assert.is(d.setCookie, null)
        assert.ok(balancer.peers.includes(d.peer))
        if (d.setCookie === null) return
        const own = `route=${values[balancer.peers.indexOf(d.peer)]}; Path=/`
        assert.is(d.setCookie, own)
        for (const piece of pieces) {
          for (let i = 0; i + 3 <= piece.length; i++) {
            const fragment = piece.slice(i, i + 3)
            if (d.setCookie.includes(fragment)) assert.ok(own.includes(fragment))
          }
        }
      },
    ),
    fcParams(1000),
  )
})

Properties('should balance clients without a valid cookie under fallback false, never answer 502 while a peer is usable', () => {
  fc.assert(
    fc.property(arbitraryScenario, fc.constantFrom(undefined, '', 'route=forged', 'other=1'), (scenario, header) => {
      const s = { ...scenario, fallback: false }
      const balancer = build(s)
      const d = balancer.decide(header, { exclude: excludeList(balancer, s) })
      const anyUsable = s.peers.some((_, i) => usable(s, i, false))
      assert.is(d.peer !== null, anyUsable)
    }),
    fcParams(),
  )
})

Properties('should give identical cookie values in two instances built from the same options', () => {
  fc.assert(
    fc.property(arbitraryScenario, fc.nat({ max: 20 }), (s, traffic) => {
      const one = build(s)
      const two = build({ ...s, failures: s.failures.map(() => 0) })
      for (let i = 0; i < traffic; i++) one.decide(undefined)
      assert.equal(
        one.peers.map((p) => one.cookieValue(p)),
        two.peers.map((p) => two.cookieValue(p)),
      )
      assert.equal(
        one.peers.map((p) => one.cookieValue(p)),
        s.peers.map((_, i) => expectedValue(s, i)),
      )
    }),
    fcParams(),
  )
})

Properties('should spread 10 000 new clients by weight within 1%', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 6 }), (weights) => {
      const balancer = createBalancer({ peers: weights.map((weight, i) => ({ address: `127.0.0.1:${9001 + i}`, weight })) })
      const counts = new Map<Peer, number>()
      for (let i = 0; i < 10_000; i++) {
        const { peer } = balancer.decide(undefined)
        counts.set(peer!, (counts.get(peer!) ?? 0) + 1)
      }
      const total = weights.reduce((a, b) => a + b, 0)
      balancer.peers.forEach((peer, i) => {
        const share = (counts.get(peer) ?? 0) / 10_000
        assert.ok(Math.abs(share - weights[i]! / total) <= 0.01, `peer ${i}: ${share} vs ${weights[i]! / total}`)
      })
    }),
    fcParams(30),
  )
})

Properties('should send new clients to backups only when no primary is usable', () => {
  fc.assert(
    fc.property(arbitraryScenario, fc.integer({ min: 1, max: 10 }), (s, requests) => {
      const balancer = build(s)
      const primaryUsable = s.peers.some((p, i) => p.backup !== true && usable(s, i, false))
      for (let r = 0; r < requests; r++) {
        const d = balancer.decide(undefined, { exclude: excludeList(balancer, s) })
        if (d.peer?.backup) assert.not.ok(primaryUsable)
        if (d.peer !== null && !d.peer.backup) assert.ok(primaryUsable)
      }
    }),
    fcParams(),
  )
})
Properties.run()
