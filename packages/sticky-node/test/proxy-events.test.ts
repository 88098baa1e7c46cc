import { request, type ServerResponse } from 'node:http'
import { deadPort, withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createStickyProxy, type AttemptRecord, type HealthChangeEvent } from '../src/proxy'
import { listenProxy } from './_server'
import { fetchOnce, httpUpstream, until } from './_upstream'

const Events = suite('createStickyProxy: onAttempt, onHealthChange, inFlight')

Events('should report one attempt per request: the peer, the core event and verdict, and its latency', () =>
  withScope(async (scope) => {
    const up = scope.defer(await httpUpstream((_req, res) => res.end('ok')), (u) => u.close())
    const records: AttemptRecord[] = []
    const proxy = scope.defer(await listenProxy({ peers: [up.address], onAttempt: (r) => records.push(r) }), (p) => p.close())
    await fetchOnce(`${proxy.url}/a?secret=1`)
    assert.is(records.length, 1)
    const [r] = records
    assert.is(r!.peer, proxy.proxy.balancer.peers[0])
    assert.is(r!.event, 'peer-answered')
    assert.equal([r!.verdict.next, r!.verdict.blame, r!.verdict.credit], ['relay', false, true])
    assert.equal([r!.attempt, r!.retry, r!.resend, r!.afterHead], [1, false, false, false])
    assert.ok(r!.durationMs >= 0 && Number.isFinite(r!.durationMs))
    assert.is(r!.request.url, '/a?secret=1')
  }),
)

Events('should report a failed attempt with its blame and the retry that followed, and the passive change', () =>
  withScope(async (scope) => {
    const dead = `127.0.0.1:${await deadPort()}`
    const live = scope.defer(await httpUpstream((_req, res) => res.end('live')), (u) => u.close())
    const records: AttemptRecord[] = []
    const changes: HealthChangeEvent[] = []
    const proxy = scope.defer(
      await listenProxy({ peers: [dead, live.address], onAttempt: (r) => records.push(r), onHealthChange: (e) => changes.push(e) }),
      (p) => p.close(),
    )
    const pin = `route=${proxy.proxy.balancer.cookieValue(proxy.proxy.balancer.peers[0]!)}`
    assert.is((await fetchOnce(proxy.url, { headers: { cookie: pin } })).body.toString(), 'live')
    assert.equal(
      records.map((r) => [r.peer.id, r.event, r.verdict.next, r.verdict.blame, r.attempt, r.retry]),
      [
        [dead, 'connect-failed', 'retry-other', true, 1, false],
        [live.address, 'peer-answered', 'relay', false, 2, true],
      ],
    )
    assert.equal(
      changes.map((c) => [c.peer.id, c.usable, c.reason, c.checked, c.detail]),
      [[dead, false, 'passive', undefined, 'failure']],
    )
  }),
)

Events('should tell when a passively failed peer answers again', () =>
  withScope(async (scope) => {
    let broken = true
    const flaky = scope.defer(
      await httpUpstream((req, res) => {
        if (broken) return void req.socket.destroy()
        res.end('flaky')
      }),
      (u) => u.close(),
    )
    const other = scope.defer(await httpUpstream((_req, res) => res.end('other')), (u) => u.close())
    const changes: HealthChangeEvent[] = []
    // failTimeout 1 ms: the peer is probed again by the next request that names it.
    const proxy = scope.defer(
      await listenProxy({ peers: [{ address: flaky.address, failTimeout: 1 }, other.address], onHealthChange: (e) => changes.push(e) }),
      (p) => p.close(),
    )
    const pin = `route=${proxy.proxy.balancer.cookieValue(proxy.proxy.balancer.peers[0]!)}`
    await fetchOnce(proxy.url, { headers: { cookie: pin } })
    broken = false
    await until(async () => (await fetchOnce(proxy.url, { headers: { cookie: pin } })).body.toString() === 'flaky', 'flaky answers again')
    assert.equal(
      changes.map((c) => [c.usable, c.reason, c.detail]),
      [
        [false, 'passive', 'failure'],
        [true, 'passive', 'success'],
      ],
    )
  }),
)

Events('should report a response cut after its head once, as afterHead', () =>
  withScope(async (scope) => {
    const up = scope.defer(
      await httpUpstream((_req, res) => {
        res.writeHead(200, { 'content-length': '100' })
        res.write('partial', () => res.socket?.destroy())
      }),
      (u) => u.close(),
    )
    const records: AttemptRecord[] = []
    const proxy = scope.defer(await listenProxy({ peers: [up.address], onAttempt: (r) => records.push(r) }), (p) => p.close())
    await new Promise<void>((resolve) => {
      const req = request(proxy.url, { agent: false }, (res) => {
        res.resume()
        res.on('error', () => undefined)
        res.on('close', () => resolve())
      })
      req.on('error', () => resolve())
      req.end()
    })
    await until(() => records.length >= 2, 'two records')
    assert.equal(
      records.map((r) => [r.event, r.afterHead, r.attempt, r.verdict.blame]),
      [
        ['peer-answered', false, 1, false],
        ['peer-cut-response', true, 1, true],
      ],
    )
  }),
)

Events('should count open attempts per peer in inFlight', () =>
  withScope(async (scope) => {
    const held: ServerResponse[] = []
    const up = scope.defer(
      await httpUpstream((_req, res) => {
        held.push(res)
      }),
      (u) => u.close(),
    )
    const proxy = scope.defer(await listenProxy({ peers: [up.address] }), (p) => p.close())
    const peer = proxy.proxy.balancer.peers[0]!
    assert.is(proxy.proxy.inFlight(peer), 0)
    const answers = [fetchOnce(proxy.url), fetchOnce(proxy.url)]
    await until(() => held.length === 2, 'two requests held')
    assert.is(proxy.proxy.inFlight(peer), 2)
    assert.is(proxy.proxy.inFlight(peer.id), 2, 'by route key too')
    held[0]!.end('one')
    await answers[0]
    await until(() => proxy.proxy.inFlight(peer) === 1, 'one left')
    held[1]!.end('two')
    await answers[1]
    await until(() => proxy.proxy.inFlight(peer) === 0, 'none left')
  }),
)

Events('should hand what onAttempt and onHealthChange throw to onError, and complete the request', () =>
  withScope(async (scope) => {
    const dead = `127.0.0.1:${await deadPort()}`
    const up = scope.defer(await httpUpstream((_req, res) => res.end('ok')), (u) => u.close())
    const errors: unknown[] = []
    const proxy = scope.defer(
      await listenProxy({
        peers: [dead, up.address],
        onAttempt: () => {
          throw new Error('attempt hook')
        },
        onHealthChange: () => {
          throw new Error('health hook')
        },
        onError: (e) => errors.push(e),
      }),
      (p) => p.close(),
    )
    const pin = `route=${proxy.proxy.balancer.cookieValue(proxy.proxy.balancer.peers[0]!)}`
    const answer = await fetchOnce(proxy.url, { headers: { cookie: pin } })
    assert.is(answer.status, 200)
    assert.equal(
      errors.map((e) => (e as Error).message),
      ['health hook', 'attempt hook', 'attempt hook'],
    )
  }),
)

Events('should refuse hooks that are not functions', () => {
  for (const name of ['onAttempt', 'onHealthChange'] as const) {
    try {
      createStickyProxy({ peers: ['127.0.0.1:1'], [name]: 'log' } as never)
      assert.unreachable(name)
    } catch (error) {
      assert.is((error as { option?: string }).option, name)
    }
  }
})
Events.run()
