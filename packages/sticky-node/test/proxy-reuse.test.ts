import type { Socket } from 'node:net'
import { withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { ProxyResponseEvent } from '../src/proxy'
import { rawClient } from './_raw'
import { listenProxy } from './_server'
import { EventLog, fetchOnce, httpUpstream, rawUpstream } from './_upstream'

/** A second, healthy peer: with it, a failure of the stale one would re-pin its clients. */
function spare(): ReturnType<typeof httpUpstream> {
  return httpUpstream((req, res) => {
    req.resume()
    res.end('spare')
  })
}

/** One request as the stale peer read it. */
interface Received {
  readonly connection: number
  readonly head: string
  readonly body: string
  readonly answered: boolean
}

/**
 * A peer that answers the first request of every connection with keep-alive, and closes the
 * connection, unanswered, when a second request arrives on it: the race of an upstream keep-alive
 * timeout expiring just as the proxy reuses the idle connection. `waitForBody` makes it read the
 * whole body of that second request first.
 */
async function stalePeer(waitForBody: boolean): Promise<Awaited<ReturnType<typeof rawUpstream>> & { received: Received[] }> {
  const received: Received[] = []
  let connections = 0
  const up = await rawUpstream((socket: Socket) => {
    const connection = ++connections
    let served = 0
    let buffered = ''
    socket.on('error', () => undefined)
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      buffered += chunk
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n')
        if (end === -1) return
        const head = buffered.slice(0, end)
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? '0')
        const stale = served > 0
        if ((!stale || waitForBody) && buffered.length < end + 4 + length) return
        const body = buffered.slice(end + 4, end + 4 + length)
        buffered = buffered.slice(end + 4 + length)
        received.push({ connection, head, body, answered: !stale })
        if (stale) return void socket.destroy()
        served += 1
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length + 3}\r\nConnection: keep-alive\r\n\r\nok:${body}`)
      }
    })
  })
  return Object.assign(up, { received })
}

const reuse = suite('createStickyProxy: stale kept-alive upstream connections')

const idempotent: ReadonlyArray<{ method: string; body?: Buffer }> = [{ method: 'GET' }, { method: 'DELETE' }, { method: 'PUT', body: Buffer.alloc(0) }]
for (const { method, body } of idempotent) {
  reuse(`should resend a ${method}${body === undefined ? '' : ' with an empty body'} on a fresh connection to the same peer, counting no failure`, () =>
    withScope(async (scope) => {
      const peer = scope.defer(await stalePeer(false), (u) => u.close())
      const other = scope.defer(await spare(), (u) => u.close())
      const log = new EventLog<ProxyResponseEvent>()
      // No retries on other peers: only a resend to the same peer can answer.
      const proxy = scope.defer(await listenProxy({ peers: [peer.address, other.address], proxy: { retries: 0 }, onResponse: log.push }), (p) => p.close())
      const [pinned] = proxy.proxy.balancer.peers
      if (pinned === undefined) throw new Error('peers not configured')
      const cookie = `route=${proxy.proxy.balancer.cookieValue(pinned)}`
      assert.is((await fetchOnce(`${proxy.url}/warm`, { headers: { cookie } })).status, 200)
      const answer = await fetchOnce(`${proxy.url}/again`, { method, headers: { cookie }, ...(body === undefined ? {} : { body }) })
      assert.is(answer.status, 200)
      assert.is(answer.body.toString(), 'ok:')
      assert.equal(
        peer.received.map((r) => [r.connection, r.head.split(' ', 2).join(' '), r.answered]),
        [
          [1, 'GET /warm', true],
          [1, `${method} /again`, false],
          [2, `${method} /again`, true],
        ],
      )
      const events = await log.first(2)
      assert.is(events[1]?.error, undefined)
      assert.is(events[1]?.attempts, 1)
      assert.is(proxy.proxy.balancer.decide(cookie).outcome, 'hit', 'the peer is still usable')
    }),
  )
}

// The peer read the request head before it closed: it may have acted on it (nginx sends no
// non-idempotent request twice once it went out, whatever the connection).
for (const { method, body } of [{ method: 'POST' }, { method: 'POST', body: Buffer.alloc(0) }, { method: 'PATCH' }]) {
  reuse(
    `should answer 502 to a ${method}${body === undefined ? '' : ' with an empty body'} on a stale connection, sending it once and counting no failure`,
    () =>
      withScope(async (scope) => {
        const peer = scope.defer(await stalePeer(false), (u) => u.close())
        const other = scope.defer(await spare(), (u) => u.close())
        const log = new EventLog<ProxyResponseEvent>()
        const proxy = scope.defer(await listenProxy({ peers: [peer.address, other.address], onResponse: log.push }), (p) => p.close())
        const [pinned] = proxy.proxy.balancer.peers
        if (pinned === undefined) throw new Error('peers not configured')
        const cookie = `route=${proxy.proxy.balancer.cookieValue(pinned)}`
        // A request that cannot be sent again goes through node:http's pool, not undici's: a POST warms it.
        assert.is((await fetchOnce(`${proxy.url}/warm`, { method: 'POST', headers: { cookie } })).status, 200)
        const answer = await fetchOnce(`${proxy.url}/again`, { method, headers: { cookie }, ...(body === undefined ? {} : { body }) })
        assert.is(answer.status, 502)
        assert.equal(
          peer.received.map((r) => [r.connection, r.head.split(' ', 2).join(' '), r.answered]),
          [
            [1, 'POST /warm', true],
            [1, `${method} /again`, false],
          ],
        )
        const events = await log.first(2)
        assert.is(events[1]?.error, 'connect')
        assert.is(proxy.proxy.balancer.decide(cookie).outcome, 'hit', 'the peer is still usable')
      }),
  )
}

reuse('should answer 502 without blaming the peer when the body was already sent on the stale connection', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await stalePeer(true), (u) => u.close())
    const other = scope.defer(await spare(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [peer.address, other.address] }), (p) => p.close())
    const [pinned] = proxy.proxy.balancer.peers
    if (pinned === undefined) throw new Error('peers not configured')
    const cookie = `route=${proxy.proxy.balancer.cookieValue(pinned)}`
    // A request that cannot be sent again goes through node:http's pool, not undici's: a POST warms it.
    assert.is((await fetchOnce(`${proxy.url}/warm`, { method: 'POST', headers: { cookie } })).status, 200)
    const post = await fetchOnce(`${proxy.url}/pay`, { method: 'POST', headers: { cookie }, body: Buffer.from('once') })
    assert.is(post.status, 502, 'a POST whose body went out is never sent twice')
    assert.equal(
      peer.received.map((r) => [r.connection, r.body, r.answered]),
      [
        [1, '', true],
        [1, 'once', false],
      ],
    )
    assert.is(proxy.proxy.balancer.decide(cookie).outcome, 'hit', 'the peer is still usable')
    const next = await fetchOnce(`${proxy.url}/next`, { headers: { cookie } })
    assert.is(next.status, 200)
    assert.is(next.body.toString(), 'ok:', 'served by the pinned peer on a fresh connection')
  }),
)

reuse('should resend an upgrade handshake on a fresh connection, counting no failure', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await stalePeer(false), (u) => u.close())
    const other = scope.defer(await spare(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [peer.address, other.address], proxy: { retries: 0 } }), (p) => p.close())
    const [pinned] = proxy.proxy.balancer.peers
    if (pinned === undefined) throw new Error('peers not configured')
    const cookie = `route=${proxy.proxy.balancer.cookieValue(pinned)}`
    assert.is((await fetchOnce(`${proxy.url}/warm`, { headers: { cookie } })).status, 200)
    const client = scope.defer(await rawClient(proxy.port), (c) => c.close())
    // This peer declines every upgrade with a plain 200: the proxy relays it and closes.
    const answer = await client.exchange(`GET /ws HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`)
    assert.is(answer.status, 200)
    assert.equal(
      peer.received.map((r) => [r.connection, r.head.split(' ', 2).join(' '), r.answered]),
      [
        [1, 'GET /warm', true],
        [1, 'GET /ws', false],
        [2, 'GET /ws', true],
      ],
    )
    assert.is(proxy.proxy.balancer.decide(cookie).outcome, 'hit', 'the peer is still usable')
  }),
)

reuse.run()
