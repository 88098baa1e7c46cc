import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createBalancer, type BalancerOptions, type Decision } from '../src/balancer'
import { createTokenCodec, type ValidTokenReading } from '../src/token'
import { expectConfigError, manualClock } from './_balancer'

/** 2026-01-01T00:00:00Z. */
const T0 = Date.UTC(2026, 0, 1)
const K1 = { id: 'k1', secret: 'k1 secret: thirty-two bytes long' }
const K2 = { id: 'k2', secret: 'k2 secret: thirty-two bytes long' }
const peers = ['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003']

/** The `name=value` pair a user agent sends back for a `Set-Cookie`. */
function pairOf(setCookie: string | null): string {
  assert.type(setCookie, 'string')
  return setCookie!.split(';')[0]!
}

function valueOf(setCookie: string | null): string {
  return pairOf(setCookie).slice(pairOf(setCookie).indexOf('=') + 1)
}

function read(token: string, now: number, keys = [K1, K2]): ValidTokenReading {
  const reading = createTokenCodec({ keys }).read(token, now)
  assert.is(reading.status, 'valid', `${token}: ${reading.status}`)
  return reading as ValidTokenReading
}

const Tokens = suite('balancer with token')

Tokens('should pin a new client with a token naming its peer and hit on it without Set-Cookie, the same decision each time', () => {
  const clock = manualClock(T0)
  const b = createBalancer({ peers, token: { keys: [K1] }, now: clock.now })
  const first = b.decide(undefined)
  assert.is(first.outcome, 'new')
  const token = valueOf(first.setCookie)
  assert.match(token, /^1\.k1\.[A-Za-z0-9_-]{47}$/)
  assert.not.ok(first.setCookie!.includes('127.0.0.1'), 'the cookie does not reveal the address')
  assert.is(first.headerValue, null, 'no header carrier configured')
  const hit = b.decide(`route=${token}`)
  assert.is(hit.outcome, 'hit')
  assert.is(hit.peer, first.peer)
  assert.is(hit.setCookie, null)
  // The precomputed decision: a hit allocates nothing for its answer.
  assert.is(b.decide(`route=${token}`), hit)
})

Tokens('should treat an expired token as no cookie, never as a hit', () => {
  const clock = manualClock(T0)
  const b = createBalancer({ peers, token: { keys: [K1], maxAge: 100, skew: 0 }, now: clock.now })
  const token = valueOf(b.decide(undefined).setCookie)
  clock.advance(99_000)
  assert.is(b.decide(`route=${token}`).outcome, 'hit')
  clock.advance(1_000)
  const late = b.decide(`route=${token}`)
  assert.is(late.outcome, 'new')
  assert.ok(late.setCookie !== null, 'a new pin is issued')
})

Tokens('should re-issue a token past half of idle, keeping when the client was first pinned', () => {
  const clock = manualClock(T0)
  const b = createBalancer({ peers, token: { keys: [K1], idle: 60, maxAge: 3600, skew: 0 }, now: clock.now })
  const first = b.decide(undefined)
  const token = valueOf(first.setCookie)
  clock.advance(29_000)
  assert.is(b.decide(`route=${token}`).setCookie, null, 'before idle / 2')
  clock.advance(1_000)
  const renewed = b.decide(`route=${token}`)
  assert.is(renewed.outcome, 'hit')
  assert.is(renewed.peer, first.peer)
  const next = valueOf(renewed.setCookie)
  assert.is.not(next, token)
  assert.is(read(next, clock.now()).born, T0)
  assert.is(read(next, clock.now()).issued, T0 + 30_000)
  // An idle client expires: 60 s without a request.
  clock.advance(60_000)
  assert.is(b.decide(`route=${next}`).outcome, 'new')
})

Tokens('should honour a token signed by an older key and re-issue it with the first key', () => {
  const clock = manualClock(T0)
  const before = createBalancer({ peers, token: { keys: [K2] }, now: clock.now })
  const after = createBalancer({ peers, token: { keys: [K1, K2] }, now: clock.now })
  const only = createBalancer({ peers, token: { keys: [K1] }, now: clock.now })
  const pinned = before.decide(undefined)
  const old = valueOf(pinned.setCookie)
  assert.is(only.decide(`route=${old}`).outcome, 'invalid', 'a key no longer listed')
  const rotated = after.decide(`route=${old}`)
  assert.is(rotated.outcome, 'hit')
  assert.is(rotated.peer?.id, pinned.peer?.id)
  const fresh = valueOf(rotated.setCookie)
  assert.ok(fresh.startsWith('1.k1.'), fresh)
  const last = only.decide(`route=${fresh}`)
  assert.is(last.outcome, 'hit')
  assert.is(last.peer?.id, pinned.peer?.id)
  assert.is(last.setCookie, null)
})

Tokens("should keep tokens across reordering and make a removed peer's tokens invalid", () => {
  const clock = manualClock(T0)
  const b = createBalancer({ peers, token: { keys: [K1] }, now: clock.now })
  const tokens = b.peers.map((p) => [p.id, b.cookieValue(p)] as const)
  b.setPeers([...peers].reverse())
  for (const [id, token] of tokens) assert.is(b.decide(`route=${token}`).peer?.id, id)
  b.setPeers(peers.slice(1))
  assert.is(b.decide(`route=${tokens[0]![1]}`).outcome, 'invalid')
  assert.is(b.decide(`route=${tokens[1]![1]}`).outcome, 'hit')
})

Tokens('should name a peer by its route, so an address change keeps its clients', () => {
  const clock = manualClock(T0)
  const b = createBalancer({ peers: [{ address: '127.0.0.1:9001', route: 'a' }, '127.0.0.1:9002'], token: { keys: [K1] }, now: clock.now })
  const token = b.cookieValue(b.peers[0]!)
  b.setPeers([{ address: '127.0.0.1:9101', route: 'a' }, '127.0.0.1:9002'])
  assert.is(b.decide(`route=${token}`).peer?.address, '127.0.0.1:9101')
})

Tokens("should refuse token beside hash, hmac or legacy, and a route that is another peer's route key", () => {
  const token = { keys: [K1] }
  expectConfigError(() => createBalancer({ peers, token, hash: 'md5' } as unknown as BalancerOptions), 'hash')
  expectConfigError(() => createBalancer({ peers, token, hmac: { algorithm: 'sha256', key: 'k' } } as unknown as BalancerOptions), 'hmac')
  expectConfigError(() => createBalancer({ peers, token, legacy: true } as unknown as BalancerOptions), 'legacy')
  createBalancer({ peers, token, legacy: false })
  expectConfigError(() => createBalancer({ peers: [{ address: '127.0.0.1:9001', route: '127.0.0.1:9002' }, '127.0.0.1:9002'], token }), 'peers[1].address')
  expectConfigError(() => createBalancer({ peers: ['127.0.0.1:9002', { address: '127.0.0.1:9001', route: '127.0.0.1:9002' }], token }), 'peers[1].route')
  expectConfigError(() => createBalancer({ peers, token: { keys: [] } }), 'token.keys')
  // Without token the same routes are fine: the cookie value is the route, the address's digest differs.
  createBalancer({ peers: [{ address: '127.0.0.1:9001', route: '127.0.0.1:9002' }, '127.0.0.1:9002'] })
})

Tokens('should issue the same token in two instances built from the same options', () => {
  const clock = manualClock(T0 + 123)
  const a = createBalancer({ peers, token: { keys: [K1, K2] }, now: clock.now })
  const b = createBalancer({ peers, token: { keys: [K1, K2] }, now: clock.now })
  for (let i = 0; i < 6; i++) {
    const da = a.decide(undefined)
    const db = b.decide(undefined)
    assert.is(da.setCookie, db.setCookie)
    assert.is(b.decide(pairOf(da.setCookie)).peer?.id, da.peer?.id)
  }
})

Tokens('should write Expires and the configured attributes around a token', () => {
  const clock = manualClock(T0)
  const b = createBalancer({ peers, token: { keys: [K1] }, cookie: { name: 'pin', expires: 60, secure: true, httpOnly: true }, now: clock.now })
  const { setCookie } = b.decide(undefined)
  assert.match(setCookie!, /^pin=1\.k1\.[A-Za-z0-9_-]{47}; Path=\/; Expires=Thu, 01 Jan 2026 00:01:00 GMT; Max-Age=60; Secure; HttpOnly$/)
})

const Failover = suite('failover rules')

function pinnedSetup(options: Partial<BalancerOptions>) {
  const clock = manualClock(T0)
  const b = createBalancer({ peers: peers.map((address) => ({ address, failTimeout: 10_000 })), now: clock.now, ...options } as BalancerOptions)
  const first = b.decide(undefined) as Decision & { outcome: 'new' }
  const cookie = pairOf(first.setCookie)
  return { b, clock, peer: first.peer!, cookie }
}

Failover("should re-pin by default ('repin', fallback: true)", () => {
  for (const options of [{}, { failover: 'repin' as const }, { fallback: true }, { failover: 'repin' as const, fallback: true }]) {
    const { b, peer, cookie } = pinnedSetup(options)
    b.report(peer, false)
    const d = b.decide(cookie)
    assert.is(d.outcome, 'repinned')
    assert.is.not(d.peer, peer)
    assert.ok(d.setCookie !== null)
  }
})

Failover("should send a pinned client elsewhere for this request only under 'temporary', then back", () => {
  const { b, clock, peer, cookie } = pinnedSetup({ failover: 'temporary', header: 'X-Sticky-Route' })
  b.report(peer, false)
  const d = b.decide(cookie)
  assert.is(d.outcome, 'temporary')
  assert.ok(d.peer !== null && d.peer !== peer)
  assert.is(d.setCookie, null)
  assert.is(d.headerValue, null)
  clock.advance(10_000)
  const back = b.decide(cookie)
  assert.is(back.outcome, 'hit')
  assert.is(back.peer, peer)
  // A client without a pin is still pinned as usual.
  assert.is(b.decide(undefined).outcome, 'new')
})

Failover("should refuse a pinned client to an unusable peer under 'strict' with 502, or strictStatus 503", () => {
  for (const options of [{ failover: 'strict' as const }, { fallback: false }, { failover: 'strict' as const, fallback: false }]) {
    const { b, peer, cookie } = pinnedSetup(options)
    b.report(peer, false)
    const d = b.decide(cookie)
    assert.is(d.outcome, 'unavailable')
    assert.is(d.status, 502)
  }
  const { b, peer, cookie } = pinnedSetup({ failover: 'strict', strictStatus: 503 })
  b.report(peer, false)
  assert.is(b.decide(cookie).status, 503)
  // No usable peer at all is 502 whatever strictStatus says: it is not the strict rule.
  for (const p of b.peers) b.report(p, false)
  assert.is(b.decide(undefined).status, 502)
})

Failover("should keep a pinned client on its failed peer under 'persist', but not once it is down", () => {
  const { b, peer, cookie } = pinnedSetup({ failover: 'persist' })
  b.report(peer, false)
  b.report(peer, false)
  const d = b.decide(cookie)
  assert.is(d.outcome, 'persisted')
  assert.is(d.peer, peer)
  assert.is(d.setCookie, null)
  // New clients avoid the failed peer.
  for (let i = 0; i < 6; i++) assert.is.not(b.decide(undefined).peer, peer)
  // A retry that excludes it goes elsewhere, as 'repin' would.
  assert.is(b.decide(cookie, { exclude: [peer] }).outcome, 'repinned')
  b.setPeers(peers.map((address) => ({ address, failTimeout: 10_000, down: address === peer.id })))
  const moved = b.decide(cookie)
  assert.is(moved.outcome, 'repinned')
  assert.is.not(moved.peer?.id, peer.id)
})

Failover('should refuse contradicting or unknown failover options', () => {
  expectConfigError(() => createBalancer({ peers, failover: 'strict', fallback: true }), 'fallback')
  expectConfigError(() => createBalancer({ peers, failover: 'temporary', fallback: false }), 'fallback')
  expectConfigError(() => createBalancer({ peers, failover: 'persist', fallback: true }), 'fallback')
  expectConfigError(() => createBalancer({ peers, failover: 'later' as 'strict' }), 'failover')
  expectConfigError(() => createBalancer({ peers, failover: 'repin', strictStatus: 503 }), 'strictStatus')
  expectConfigError(() => createBalancer({ peers, failover: 'strict', strictStatus: 500 as 502 }), 'strictStatus')
  expectConfigError(() => createBalancer({ peers, fallback: 'no' as unknown as boolean }), 'fallback')
  createBalancer({ peers, fallback: false, strictStatus: 503 })
})

const Header = suite('header carrier')

Header('should take the pin from the header when there is no cookie, and the cookie when both are present', () => {
  for (const token of [undefined, { keys: [K1] }]) {
    const clock = manualClock(T0)
    const b = createBalancer({ peers, header: 'X-Sticky-Route', now: clock.now, ...(token === undefined ? {} : { token }) })
    assert.is(b.header, 'X-Sticky-Route')
    const [p0, p1] = [b.peers[0]!, b.peers[1]!]
    const v0 = b.cookieValue(p0)
    const v1 = b.cookieValue(p1)
    const byHeader = b.decide(undefined, { header: v1 })
    assert.is(byHeader.outcome, 'hit')
    assert.is(byHeader.peer, p1)
    assert.is(byHeader.setCookie, null)
    assert.is(byHeader.headerValue, null)
    assert.is(b.decide(`route=${v0}`, { header: v1 }).peer, p0, 'the cookie wins')
    assert.is(b.decide(null, { header: ` ${v1} , ${v0}` }).peer, p1, 'the first of a list, trimmed')
    // An invalid header value is a pin that names no peer.
    assert.is(b.decide(undefined, { header: 'nope' }).outcome, 'invalid')
    assert.is(b.decide(undefined, { header: '' }).outcome, 'new')
    assert.is(b.decide(undefined, { header: 'x'.repeat(10_000) }).outcome, 'new')
  }
})

Header("should give the value to send back whenever it pins, equal to the cookie's", () => {
  for (const token of [undefined, { keys: [K1], idle: 60 }]) {
    const clock = manualClock(T0)
    const b = createBalancer({ peers, header: 'X-Sticky-Route', now: clock.now, ...(token === undefined ? {} : { token }) })
    const d = b.decide(undefined)
    assert.is(d.outcome, 'new')
    assert.is(d.headerValue, valueOf(d.setCookie))
    if (token !== undefined) {
      clock.advance(45_000)
      const renewed = b.decide(undefined, { header: d.headerValue })
      assert.is(renewed.outcome, 'hit')
      assert.ok(renewed.headerValue !== null && renewed.headerValue !== d.headerValue, 're-issued')
      assert.is(renewed.headerValue, valueOf(renewed.setCookie))
    }
  }
  const plain = createBalancer({ peers })
  assert.is(plain.header, undefined)
  assert.is(plain.decide(undefined).headerValue, null)
})

Header('should take an expired token cookie as absent and read the header', () => {
  const clock = manualClock(T0)
  const b = createBalancer({ peers, header: 'X-Pin', token: { keys: [K1], maxAge: 10, skew: 0 }, now: clock.now })
  const old = b.cookieValue(b.peers[0]!)
  clock.advance(20_000)
  const fresh = b.cookieValue(b.peers[2]!)
  const d = b.decide(`route=${old}`, { header: fresh })
  assert.is(d.outcome, 'hit')
  assert.is(d.peer, b.peers[2])
})

Header('should refuse a header name that is not a field name or that the proxy writes itself', () => {
  for (const name of [
    '',
    'X Sticky',
    'X-Sticky:',
    'Cookie',
    'set-cookie',
    'Host',
    'Connection',
    'X-Forwarded-For',
    'Authorization',
    'expect',
    `X-${'a'.repeat(255)}`,
    7,
  ]) {
    expectConfigError(() => createBalancer({ peers, header: name as string }), 'header')
  }
})

Tokens.run()
Failover.run()
Header.run()
