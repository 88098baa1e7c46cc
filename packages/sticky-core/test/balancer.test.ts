import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createBalancer, type BalancerBaseOptions, type Decision, type HashedCookieOptions, type HmacCookieOptions } from '../src/balancer'
import { StickyConfigError } from '../src/errors'
import type { Peer } from '../src/peers'
import { loopbackPeers, manualClock, nodeDigest, nodeHmac } from './_balancer'

const PEER = '127.0.0.1:9001'
const cookieOf = (value: string): string => `route=${value}`
const values = (balancer: { peers: readonly Peer[]; cookieValue(p: Peer): string }): string[] => balancer.peers.map((p) => balancer.cookieValue(p))

// ---------------------------------------------------------------- cookieValue
const Values = suite('Balancer.cookieValue')

const hmacKey = 'sticky-test-key'
const valueCases: ReadonlyArray<{ mode: string; options: Omit<BalancerBaseOptions, 'peers'> & (HashedCookieOptions | HmacCookieOptions); expected: string }> = [
  { mode: 'md5 (default)', options: {}, expected: nodeDigest('md5', PEER) },
  { mode: 'sha1', options: { hash: 'sha1' }, expected: nodeDigest('sha1', PEER) },
  { mode: 'index', options: { hash: 'index' }, expected: '0' },
  { mode: 'raw', options: { hash: 'raw' }, expected: PEER },
  { mode: 'hmac md5', options: { hmac: { algorithm: 'md5', key: hmacKey } }, expected: nodeHmac('md5', hmacKey, PEER) },
  { mode: 'hmac sha1', options: { hmac: { algorithm: 'sha1', key: hmacKey } }, expected: nodeHmac('sha1', hmacKey, PEER) },
  { mode: 'hmac sha256', options: { hmac: { algorithm: 'sha256', key: hmacKey } }, expected: nodeHmac('sha256', hmacKey, PEER) },
  {
    mode: 'hmac sha256 with a byte key',
    options: { hmac: { algorithm: 'sha256', key: new Uint8Array([0, 1, 255]) } },
    expected: nodeHmac('sha256', new Uint8Array([0, 1, 255]), PEER),
  },
]
for (const c of valueCases) {
  Values(`should give ${PEER} its ${c.mode} value`, () => {
    const balancer = createBalancer({ ...c.options, peers: [PEER, '127.0.0.1:9002'] })
    assert.is(balancer.cookieValue(balancer.peers[0]!), c.expected)
  })
}

Values('should match the documented md5 of 127.0.0.1:9001', () => {
  const balancer = createBalancer({ peers: [PEER] })
  assert.is(balancer.cookieValue(balancer.peers[0]!), '422db4e6da7b4bba46bd476612df0469')
})

Values('should hash the printed IPv6, host and socket route keys', () => {
  const balancer = createBalancer({ peers: ['[0:0::1]:9001', 'http://App.Internal', 'unix:/run/app.sock'] })
  assert.equal(values(balancer), [nodeDigest('md5', '[::1]:9001'), nodeDigest('md5', 'app.internal:80'), nodeDigest('md5', 'unix:/run/app.sock')])
})

Values('should number primaries first and backups after them under index', () => {
  const balancer = createBalancer({ hash: 'index', peers: [{ address: 'a:1', backup: true }, 'b:1', { address: 'c:1', backup: true }, 'd:1'] })
  assert.equal(values(balancer), ['2', '0', '3', '1'])
})

Values('should use a route verbatim, and its HMAC under hmac', () => {
  const peers = [{ address: PEER, route: 'blue' }, '127.0.0.1:9002']
  assert.equal(values(createBalancer({ peers })), ['blue', nodeDigest('md5', '127.0.0.1:9002')])
  assert.equal(values(createBalancer({ peers, hash: 'index' })), ['blue', '1'])
  assert.is(values(createBalancer({ peers, hmac: { algorithm: 'sha1', key: 'k' } }))[0], nodeHmac('sha1', 'k', 'blue'))
})

Values('should refuse a peer that is not one of its own', () => {
  const balancer = createBalancer({ peers: [PEER] })
  const foreign = createBalancer({ peers: ['127.0.0.1:1'] }).peers[0]!
  assert.throws(
    () => balancer.cookieValue(foreign),
    (e: unknown) => e instanceof StickyConfigError && e.option === 'peer',
  )
})
Values.run()

// ---------------------------------------------------------------- decide
const Decide = suite('Balancer.decide')

function expectDecision(d: Decision, outcome: Decision['outcome'], peerId: string | null, setCookie: string | null | 'any'): void {
  assert.is(d.outcome, outcome)
  assert.is(d.peer?.id ?? null, peerId)
  if (setCookie !== 'any') assert.is(d.setCookie, setCookie)
  assert.is(d.status, peerId === null ? 502 : undefined)
  assert.ok(Object.isFrozen(d))
}

Decide('should assign a new client by round robin and pin it with Set-Cookie', () => {
  const balancer = createBalancer({ peers: loopbackPeers(3) })
  const [a, b, c] = values(balancer)
  expectDecision(balancer.decide(undefined), 'new', '127.0.0.1:9001', `route=${a}; Path=/`)
  expectDecision(balancer.decide(null), 'new', '127.0.0.1:9002', `route=${b}; Path=/`)
  expectDecision(balancer.decide(''), 'new', '127.0.0.1:9003', `route=${c}; Path=/`)
})

Decide('should hit the pinned peer without Set-Cookie under refresh assign', () => {
  const balancer = createBalancer({ peers: loopbackPeers(3) })
  const value = values(balancer)[1]!
  for (const header of [cookieOf(value), `a=1; route=${value}; b=2`, `route="${value}"`, ` route = ${value} `]) {
    expectDecision(balancer.decide(header), 'hit', '127.0.0.1:9002', null)
  }
})

Decide('should hit with the same Set-Cookie every time under refresh always', () => {
  const balancer = createBalancer({ peers: loopbackPeers(2), refresh: 'always' })
  const value = values(balancer)[1]!
  expectDecision(balancer.decide(cookieOf(value)), 'hit', '127.0.0.1:9002', `route=${value}; Path=/`)
})

Decide('should render Expires from the clock and Max-Age for expires=3600', () => {
  const clock = manualClock(Date.UTC(2026, 0, 2, 3, 4, 5, 678))
  const balancer = createBalancer({ peers: [PEER], cookie: { expires: 3600, httpOnly: true }, refresh: 'always', now: clock.now })
  const value = nodeDigest('md5', PEER)
  const at = (date: string): string => `route=${value}; Path=/; Expires=${date}; Max-Age=3600; HttpOnly`
  expectDecision(balancer.decide(undefined), 'new', PEER, at('Fri, 02 Jan 2026 04:04:05 GMT'))
  expectDecision(balancer.decide(cookieOf(value)), 'hit', PEER, at('Fri, 02 Jan 2026 04:04:05 GMT'))
  clock.advance(321)
  expectDecision(balancer.decide(cookieOf(value)), 'hit', PEER, at('Fri, 02 Jan 2026 04:04:05 GMT'))
  clock.advance(1)
  expectDecision(balancer.decide(cookieOf(value)), 'hit', PEER, at('Fri, 02 Jan 2026 04:04:06 GMT'))
})

Decide("should render expires 'max' as 400 days", () => {
  const clock = manualClock(Date.UTC(2026, 0, 1))
  const balancer = createBalancer({ peers: [PEER], cookie: { expires: 'max' }, now: clock.now })
  const d = balancer.decide(undefined)
  assert.ok(d.setCookie?.endsWith('; Expires=Fri, 05 Feb 2027 00:00:00 GMT; Max-Age=34560000'), d.setCookie ?? '')
})

Decide('should write every cookie attribute in RFC spelling', () => {
  const balancer = createBalancer({
    peers: [PEER],
    cookie: { name: 'srv', domain: '.example.com', path: '/app', secure: true, httpOnly: true, sameSite: 'None', partitioned: true },
  })
  assert.is(
    balancer.decide(undefined).setCookie,
    `srv=${nodeDigest('md5', PEER)}; Domain=.example.com; Path=/app; Secure; HttpOnly; SameSite=None; Partitioned`,
  )
})

Decide('should drop Expires rather than throw when the clock is unusable', () => {
  for (const now of [Number.NaN, 1e20, -1e20]) {
    const balancer = createBalancer({ peers: [PEER], cookie: { expires: 60 }, now: () => now })
    assert.is(balancer.decide(undefined).setCookie, `route=${nodeDigest('md5', PEER)}; Path=/; Max-Age=60`)
  }
})

Decide('should treat a cookie that names no peer as invalid and balance the client', () => {
  const balancer = createBalancer({ peers: loopbackPeers(2) })
  const [a] = values(balancer)
  const forged = [
    'route=',
    'route=nope',
    `route=${a!.slice(0, -1)}`,
    `route=${a}x`,
    `route=${a!.toUpperCase()}`,
    `route=${'f'.repeat(10_000)}`,
    `route=x; route=${a}`,
  ]
  for (const header of forged) {
    const d = balancer.decide(header)
    assert.is(d.outcome, 'invalid', header)
    assert.ok(d.peer !== null)
    assert.is(d.setCookie, `route=${balancer.cookieValue(d.peer)}; Path=/`)
  }
})

Decide('should let the first cookie of the name win', () => {
  const balancer = createBalancer({ peers: loopbackPeers(2) })
  const [a, b] = values(balancer)
  expectDecision(balancer.decide(`route=${b}; route=${a}`), 'hit', '127.0.0.1:9002', null)
})

Decide('should re-pin a client whose peer is down', () => {
  const balancer = createBalancer({ peers: [{ address: PEER, down: true }, '127.0.0.1:9002'] })
  const [a, b] = values(balancer)
  expectDecision(balancer.decide(cookieOf(a!)), 'repinned', '127.0.0.1:9002', `route=${b}; Path=/`)
})

Decide('should answer 502 for a down pinned peer under fallback false, and still balance new clients', () => {
  const balancer = createBalancer({ peers: [{ address: PEER, down: true }, '127.0.0.1:9002'], fallback: false })
  const [a, b] = values(balancer)
  expectDecision(balancer.decide(cookieOf(a!)), 'unavailable', null, null)
  expectDecision(balancer.decide(undefined), 'new', '127.0.0.1:9002', `route=${b}; Path=/`)
  expectDecision(balancer.decide('route=forged'), 'invalid', '127.0.0.1:9002', `route=${b}; Path=/`)
})

Decide('should answer 502 when no peer is usable', () => {
  const balancer = createBalancer({ peers: [{ address: PEER, down: true }] })
  expectDecision(balancer.decide(undefined), 'unavailable', null, null)
  expectDecision(balancer.decide(cookieOf(nodeDigest('md5', PEER))), 'unavailable', null, null)
})

Decide('should keep hits on a draining peer and send it no new client', () => {
  const balancer = createBalancer({ peers: [{ address: PEER, drain: true }, '127.0.0.1:9002'] })
  const [a] = values(balancer)
  expectDecision(balancer.decide(cookieOf(a!)), 'hit', PEER, null)
  for (let i = 0; i < 5; i++) assert.is(balancer.decide(undefined).peer?.id, '127.0.0.1:9002')
})

Decide('should honour a cookie naming a backup, and use backups only when no primary is usable', () => {
  const clock = manualClock()
  const balancer = createBalancer({ peers: [PEER, { address: '127.0.0.1:9009', backup: true }], now: clock.now })
  const [primary, backup] = balancer.peers
  expectDecision(balancer.decide(cookieOf(balancer.cookieValue(backup!))), 'hit', '127.0.0.1:9009', null)
  assert.is(balancer.decide(undefined).peer, primary)
  balancer.report(primary!, false)
  expectDecision(balancer.decide(undefined), 'new', '127.0.0.1:9009', 'any')
  expectDecision(balancer.decide(cookieOf(balancer.cookieValue(primary!))), 'repinned', '127.0.0.1:9009', 'any')
  clock.advance(10_000)
  assert.is(balancer.decide(undefined).peer, primary, 'back after fail_timeout')
})

Decide('should re-pin an excluded pinned peer and name the new peer in Set-Cookie', () => {
  const balancer = createBalancer({ peers: loopbackPeers(3) })
  const [a, b, c] = balancer.peers
  const va = balancer.cookieValue(a!)
  const first = balancer.decide(cookieOf(va), { exclude: [a!] })
  assert.is(first.outcome, 'repinned')
  assert.ok(first.peer !== null && first.peer !== a)
  assert.is(first.setCookie, `route=${balancer.cookieValue(first.peer)}; Path=/`)
  const second = balancer.decide(cookieOf(va), { exclude: new Set([a!, first.peer]) })
  assert.ok(second.peer !== null && second.peer !== a && second.peer !== first.peer)
  expectDecision(balancer.decide(cookieOf(va), { exclude: [a!, b!, c!] }), 'unavailable', null, null)
  expectDecision(balancer.decide(undefined, { exclude: new Set([a!, b!, c!]) }), 'unavailable', null, null)
})

Decide('should match excluded peers by route key, across setPeers', () => {
  const balancer = createBalancer({ peers: loopbackPeers(2) })
  const [a] = balancer.peers
  balancer.setPeers([{ address: '127.0.0.1:9001', weight: 2 }, '127.0.0.1:9002'])
  const header = cookieOf(balancer.cookieValue(a!))
  assert.is(balancer.decide(header, { exclude: [a!] }).peer?.id, '127.0.0.1:9002')
  assert.is(balancer.decide(header, { exclude: new Set([a!]) }).peer?.id, '127.0.0.1:9002')
})

Decide('should not throw on an exclude that is neither a Set nor an array', () => {
  const balancer = createBalancer({ peers: loopbackPeers(2) })
  const header = cookieOf(values(balancer)[0]!)
  for (const exclude of [{}, 5, 'x', new Map(), [null, undefined, 3]]) {
    assert.is(balancer.decide(header, { exclude: exclude as unknown as Peer[] }).outcome, 'hit')
  }
})

Decide('should answer 502 for an excluded pinned peer under fallback false', () => {
  const balancer = createBalancer({ peers: loopbackPeers(2), fallback: false })
  const [a] = balancer.peers
  expectDecision(balancer.decide(cookieOf(balancer.cookieValue(a!)), { exclude: [a!] }), 'unavailable', null, null)
})

Decide('should return one shared frozen decision per peer for hits', () => {
  const balancer = createBalancer({ peers: loopbackPeers(2) })
  const header = cookieOf(values(balancer)[0]!)
  assert.is(balancer.decide(header), balancer.decide(header))
})

Decide('should never throw on odd request input', () => {
  const balancer = createBalancer({ peers: loopbackPeers(2) })
  const odd: unknown[] = [42, {}, [], Symbol('x'), 'route', ';;;', '=', 'route==', '\u0000route=x', 'route=\ud800']
  for (const header of odd) {
    const d = balancer.decide(header as string)
    assert.ok(d.peer !== null)
  }
})
Decide.run()

// ---------------------------------------------------------------- peers
const Peers = suite('Balancer.peers')

Peers('should list canonical frozen peers in configuration order', () => {
  const balancer = createBalancer({ peers: ['10.0.0.1:80', { address: 'https://Example.org', backup: true }] })
  assert.equal(
    balancer.peers.map((p) => p.address),
    ['10.0.0.1:80', 'https://example.org:443'],
  )
  assert.ok(Object.isFrozen(balancer.peers))
  assert.ok(balancer.peers.every((p) => Object.isFrozen(p)))
})
Peers.run()

// ---------------------------------------------------------------- setPeers
const SetPeers = suite('Balancer.setPeers')

SetPeers('should keep values and failure state of unchanged peers', () => {
  const clock = manualClock()
  const balancer = createBalancer({ peers: loopbackPeers(2), now: clock.now })
  const [a] = balancer.peers
  const va = balancer.cookieValue(a!)
  balancer.report(a!, false)
  balancer.setPeers(['127.0.0.1:9003', ...loopbackPeers(2)])
  assert.is(balancer.peers[1], a, 'the same object for the same peer')
  assert.is(balancer.cookieValue(a!), va)
  assert.is(balancer.decide(cookieOf(va)).outcome, 'repinned', 'still failed')
  clock.advance(10_000)
  assert.is(balancer.decide(cookieOf(va)).outcome, 'hit')
})

SetPeers('should give a changed peer a new object but keep its value and state', () => {
  const balancer = createBalancer({ peers: loopbackPeers(2) })
  const [a] = balancer.peers
  balancer.report(a!, false)
  balancer.setPeers([{ address: '127.0.0.1:9001', weight: 5 }, '127.0.0.1:9002'])
  const updated = balancer.peers[0]!
  assert.is.not(updated, a)
  assert.is(updated.weight, 5)
  assert.is(balancer.cookieValue(updated), balancer.cookieValue(a!))
  assert.is(balancer.decide(cookieOf(balancer.cookieValue(updated))).outcome, 'repinned')
})

SetPeers('should forget removed peers and invalidate their cookies', () => {
  const balancer = createBalancer({ peers: loopbackPeers(2) })
  const [a] = balancer.peers
  const va = balancer.cookieValue(a!)
  balancer.setPeers(['127.0.0.1:9002'])
  assert.is(balancer.decide(cookieOf(va)).outcome, 'invalid')
  assert.throws(() => balancer.cookieValue(a!))
  balancer.report(a!, false)
})

SetPeers('should leave everything as it was when the new list is invalid', () => {
  const balancer = createBalancer({ peers: loopbackPeers(2) })
  const before = balancer.peers
  assert.throws(
    () => balancer.setPeers([]),
    (e: unknown) => e instanceof StickyConfigError && e.option === 'peers',
  )
  assert.throws(
    () => balancer.setPeers(['127.0.0.1:1', '127.0.0.1:1']),
    (e: unknown) => e instanceof StickyConfigError && e.option === 'peers[1].address',
  )
  assert.is(balancer.peers, before)
})

SetPeers('should restart the round robin', () => {
  const balancer = createBalancer({ peers: loopbackPeers(3) })
  balancer.decide(undefined)
  balancer.setPeers(loopbackPeers(3))
  assert.is(balancer.decide(undefined).peer?.id, '127.0.0.1:9001')
})

SetPeers('should renumber index values by position', () => {
  const balancer = createBalancer({ peers: ['a:1', 'b:1'], hash: 'index' })
  balancer.setPeers(['b:1', 'a:1'])
  assert.equal(
    balancer.peers.map((p) => [p.id, balancer.cookieValue(p)]),
    [
      ['b:1', '0'],
      ['a:1', '1'],
    ],
  )
})
SetPeers.run()

// ---------------------------------------------------------------- report
const Report = suite('Balancer.report')

Report('should take a peer out after maxFails failures and bring it back after failTimeout', () => {
  const clock = manualClock()
  const balancer = createBalancer({ peers: [{ address: PEER, maxFails: 2, failTimeout: 5_000 }, '127.0.0.1:9002'], now: clock.now })
  const [a] = balancer.peers
  const header = cookieOf(balancer.cookieValue(a!))
  balancer.report(a!, false)
  assert.is(balancer.decide(header).outcome, 'hit')
  balancer.report(a!, false)
  assert.is(balancer.decide(header).outcome, 'repinned')
  clock.advance(4_999)
  assert.is(balancer.decide(header).outcome, 'repinned')
  clock.advance(1)
  assert.is(balancer.decide(header).outcome, 'hit', 'the probe')
  assert.is(balancer.decide(header).outcome, 'repinned', 'while the probe is out')
  balancer.report(a!, true)
  assert.is(balancer.decide(header).outcome, 'hit', 'the probe answered')
})

Report('should never take out a single peer without backups, as nginx', () => {
  const balancer = createBalancer({ peers: [PEER] })
  const [a] = balancer.peers
  for (let i = 0; i < 3; i++) balancer.report(a!, false)
  assert.is(balancer.decide(undefined).peer, a)
  assert.is(balancer.decide(cookieOf(balancer.cookieValue(a!))).outcome, 'hit')
})

Report('should ignore failures of a peer with maxFails 0', () => {
  const balancer = createBalancer({ peers: [{ address: PEER, maxFails: 0 }, '127.0.0.1:9002'] })
  const [a] = balancer.peers
  for (let i = 0; i < 5; i++) balancer.report(a!, false)
  assert.is(balancer.decide(cookieOf(balancer.cookieValue(a!))).outcome, 'hit')
})

Report('should lower the share of a failed peer while it recovers', () => {
  const options = {
    peers: [
      { address: PEER, weight: 100, maxFails: 2 },
      { address: '127.0.0.1:9002', weight: 100 },
    ],
  }
  const share = (balancer: ReturnType<typeof createBalancer>): number =>
    Array.from({ length: 20 }, () => balancer.decide(undefined).peer?.id).filter((id) => id === PEER).length
  assert.is(share(createBalancer(options)), 10)
  const failed = createBalancer(options)
  failed.report(failed.peers[0]!, false)
  assert.ok(share(failed) < 10)
})
Report.run()
