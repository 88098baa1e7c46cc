import { Agent as HttpsAgent, createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createBalancer, StickyConfigError } from 'sticky-core'
import { deadPort, sleep, withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHealthChecker, type HealthCheckChange } from '../src/health-checker'
import type { HealthChangeEvent } from '../src/proxy'
import { listenProxy } from './_server'
import { TEST_CERT, TEST_KEY } from './_tls'
import { fetchOnce, httpUpstream, rawUpstream, until } from './_upstream'

/** A peer whose health path answers `healthy ? 200 : 503` and counts its checks; every other path names the peer. */
async function flippable(name: string): Promise<Awaited<ReturnType<typeof httpUpstream>> & { healthy: boolean; checks: number; hosts: string[] }> {
  const state = { healthy: true, checks: 0, hosts: [] as string[] }
  const up = await httpUpstream((req, res) => {
    req.resume()
    if (req.url === '/healthz') {
      state.checks++
      state.hosts.push(req.headers.host ?? '')
      res.statusCode = state.healthy ? 200 : 503
      return void res.end(state.healthy ? 'ok' : 'sick')
    }
    res.end(name)
  })
  // Accessors, not copies: the test flips `healthy` and reads the counts as the checks arrive.
  return Object.defineProperties(up, {
    healthy: { get: () => state.healthy, set: (v: boolean) => (state.healthy = v) },
    checks: { get: () => state.checks },
    hosts: { get: () => state.hosts },
  }) as Awaited<ReturnType<typeof httpUpstream>> & { healthy: boolean; checks: number; hosts: string[] }
}

// Fast enough for a test, slow enough that a check on a loaded machine does not time out (which would take a healthy peer out).
const FAST = { path: '/healthz', interval: 100, timeout: 100, rises: 2, falls: 2 } as const

function cookieOf(setCookie: string | string[] | undefined): string {
  const line = Array.isArray(setCookie) ? setCookie[0] : setCookie
  return (line ?? '').split(';')[0]!
}

const Checks = suite('createStickyProxy: active health checks')

Checks('should take a peer that fails its health path out, move its pinned client (repin), and bring it back', () =>
  withScope(async (scope) => {
    const a = scope.defer(await flippable('a'), (u) => u.close())
    const b = scope.defer(await flippable('b'), (u) => u.close())
    const changes: HealthChangeEvent[] = []
    const proxy = scope.defer(await listenProxy({ peers: [a.address, b.address], healthCheck: FAST, onHealthChange: (e) => changes.push(e) }), (p) => p.close())
    const [peerA] = proxy.proxy.balancer.peers
    const pinA = `route=${proxy.proxy.balancer.cookieValue(peerA!)}`
    assert.is((await fetchOnce(proxy.url, { headers: { cookie: pinA } })).body.toString(), 'a')

    a.healthy = false
    await until(() => proxy.proxy.balancer.health(peerA!)?.checked === 'down', 'a checked down')
    const moved = await fetchOnce(proxy.url, { headers: { cookie: pinA } })
    assert.is(moved.body.toString(), 'b', 'the pinned client is moved')
    const pinB = cookieOf(moved.headers['set-cookie'])
    assert.is(pinB, `route=${proxy.proxy.balancer.cookieValue(proxy.proxy.balancer.peers[1]!)}`, 'and re-pinned to b')
    for (let i = 0; i < 4; i++) assert.is((await fetchOnce(proxy.url)).body.toString(), 'b', 'new clients avoid a')
    assert.is(proxy.proxy.balancer.health(peerA!)?.fails, 0, 'failed checks count no passive failure')

    a.healthy = true
    await until(() => proxy.proxy.balancer.health(peerA!)?.checked === 'up', 'a checked up')
    assert.is((await fetchOnce(proxy.url, { headers: { cookie: pinB } })).body.toString(), 'b', 'repin: the client stays on its new peer')
    assert.is((await fetchOnce(proxy.url, { headers: { cookie: pinA } })).body.toString(), 'a', 'a pin to a is honoured again')
    assert.equal(
      changes.map((c) => [c.peer.id, c.reason, c.checked, c.usable, c.detail]),
      [
        [a.address, 'check', 'down', false, 'status 503'],
        [a.address, 'check', 'up', true, 'status 200'],
      ],
    )
  }),
)

Checks('should send a temporary client elsewhere while its peer is down and back once it is up', () =>
  withScope(async (scope) => {
    const a = scope.defer(await flippable('a'), (u) => u.close())
    const b = scope.defer(await flippable('b'), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [a.address, b.address], failover: 'temporary', healthCheck: FAST }), (p) => p.close())
    const peerA = proxy.proxy.balancer.peers[0]!
    const pinA = `route=${proxy.proxy.balancer.cookieValue(peerA)}`
    a.healthy = false
    await until(() => !proxy.proxy.balancer.isUsable(peerA), 'a out')
    const away = await fetchOnce(proxy.url, { headers: { cookie: pinA } })
    assert.is(away.body.toString(), 'b')
    assert.is(away.headers['set-cookie'], undefined, 'the pin is kept')
    a.healthy = true
    await until(() => proxy.proxy.balancer.isUsable(peerA), 'a back')
    assert.is((await fetchOnce(proxy.url, { headers: { cookie: pinA } })).body.toString(), 'a')
  }),
)

Checks('should keep passive health working beside the checks', () =>
  withScope(async (scope) => {
    // a passes its checks but resets every other request: passive health takes it out, the checks do not.
    const a = scope.defer(
      await httpUpstream((req, res) => {
        if (req.url === '/healthz') return void res.end('ok')
        req.socket.destroy()
      }),
      (u) => u.close(),
    )
    const b = scope.defer(await flippable('b'), (u) => u.close())
    const changes: HealthChangeEvent[] = []
    const proxy = scope.defer(
      await listenProxy({
        peers: [{ address: a.address, maxFails: 1, failTimeout: '1h' }, b.address],
        healthCheck: FAST,
        onHealthChange: (e) => changes.push(e),
      }),
      (p) => p.close(),
    )
    const peerA = proxy.proxy.balancer.peers[0]!
    const answer = await fetchOnce(`${proxy.url}/x`, { headers: { cookie: `route=${proxy.proxy.balancer.cookieValue(peerA)}` } })
    assert.is(answer.body.toString(), 'b', 'retried on b')
    await until(() => proxy.proxy.balancer.health(peerA)?.checked === 'up', 'a checked up')
    assert.equal(proxy.proxy.balancer.health(peerA), { usable: false, checked: 'up', fails: 1 }, 'a passing check does not clear the failure')
    assert.equal(
      changes.map((c) => [c.peer.id, c.reason, c.usable, c.detail]),
      [[a.address, 'passive', false, 'failure']],
    )
  }),
)

Checks('should refuse invalid healthCheck options, naming the key', () => {
  for (const [healthCheck, option] of [
    [{ path: 'healthz' }, 'healthCheck.path'],
    [{ path: '/', interval: '1s', timeout: '2s' }, 'healthCheck.timeout'],
    [{ path: '/', expect: '2xx' }, 'healthCheck.expect'],
    [{ path: '/', falls: 0 }, 'healthCheck.falls'],
    [{ path: '/', every: '5s' }, 'healthCheck.every'],
  ] as const) {
    try {
      createHealthChecker({ balancer: createBalancer({ peers: ['127.0.0.1:1'] }), healthCheck: healthCheck as never }).close()
      assert.unreachable(option)
    } catch (error) {
      assert.instance(error, StickyConfigError)
      assert.is((error as StickyConfigError).option, option)
    }
  }
})
Checks.run()

const Checker = suite('createHealthChecker')

Checker('should fail a check against a peer that accepts and never answers, by its timeout', () =>
  withScope(async (scope) => {
    const silent = scope.defer(await rawUpstream((socket) => socket.on('error', () => undefined)), (u) => u.close())
    const balancer = createBalancer({ peers: [silent.address, '127.0.0.1:9'] })
    const changes: HealthCheckChange[] = []
    const checker = scope.defer(
      createHealthChecker({ balancer, healthCheck: { path: '/', interval: 100, timeout: 100, falls: 1 }, onChange: (c) => changes.push(c) }),
      (c) => c.close(),
    )
    await until(() => changes.some((c) => c.peer.id === silent.address), 'the silent peer checked down')
    const change = changes.find((c) => c.peer.id === silent.address)!
    assert.is(change.up, false)
    assert.is(change.detail, 'timeout')
    assert.is(checker.state(silent.address), 'down')
    assert.not.ok(balancer.isUsable(silent.address))
  }),
)

Checker('should fail a check on a refused connection and on an unexpected status, and pass the expected one', () =>
  withScope(async (scope) => {
    const dead = `127.0.0.1:${await deadPort()}`
    const teapot = scope.defer(
      await httpUpstream((req, res) => {
        req.resume()
        res.statusCode = 418
        res.end()
      }),
      (u) => u.close(),
    )
    const changes: HealthCheckChange[] = []
    const balancer = createBalancer({ peers: [dead, teapot.address] })
    scope.defer(createHealthChecker({ balancer, healthCheck: { path: '/', interval: 100, timeout: 100, falls: 1 }, onChange: (c) => changes.push(c) }), (c) =>
      c.close(),
    )
    await until(() => changes.length === 2, 'both down')
    assert.equal(
      changes.map((c) => [c.peer.id, c.up, c.detail]).sort(),
      [
        [dead, false, 'error ECONNREFUSED'],
        [teapot.address, false, 'status 418'],
      ].sort(),
    )
    const teapots = createBalancer({ peers: [teapot.address] })
    const ok = scope.defer(createHealthChecker({ balancer: teapots, healthCheck: { path: '/', interval: 100, timeout: 100, expect: '200,418' } }), (c) =>
      c.close(),
    )
    await until(() => teapots.health(teapot.address)?.checked === 'up', 'the expected status passes')
    assert.is(ok.state(teapot.address), 'up')
  }),
)

Checker("should send the peer's Host, or the host option, and GET the path", () =>
  withScope(async (scope) => {
    const a = scope.defer(await flippable('a'), (u) => u.close())
    const balancer = createBalancer({ peers: [a.address] })
    const checker = scope.defer(createHealthChecker({ balancer, healthCheck: { path: '/healthz', interval: 100, timeout: 100 } }), (c) => c.close())
    await until(() => a.checks > 0, 'a checked')
    checker.close()
    assert.is(a.hosts[0], a.address)
    const other = scope.defer(createHealthChecker({ balancer, healthCheck: { path: '/healthz', interval: 100, timeout: 100, host: 'app.internal' } }), (c) =>
      c.close(),
    )
    await until(() => a.hosts.includes('app.internal'), 'checked with the host option')
    other.close()
  }),
)

Checker('should check https peers over TLS with the agent options', () =>
  withScope(async (scope) => {
    let checks = 0
    const server = createHttpsServer({ key: TEST_KEY, cert: TEST_CERT }, (req, res) => {
      checks++
      res.end(String((req.socket as { encrypted?: boolean }).encrypted))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    scope.defer(server, (s) => new Promise<void>((resolve) => (s.closeAllConnections(), s.close(() => resolve()))))
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
    const balancer = createBalancer({ peers: [origin] })
    const changes: HealthCheckChange[] = []
    scope.defer(
      createHealthChecker({
        balancer,
        // A TLS handshake on a loaded machine can outlast 20 ms: three slow checks in a row, not one, take it
        // out. Without the agent's `ca` every check fails, so the peer would still go down.
        healthCheck: { path: '/', interval: 300, timeout: 300, falls: 3 },
        agent: () => ({ ca: TEST_CERT }),
        onChange: (c) => changes.push(c),
      }),
      (c) => c.close(),
    )
    await until(() => checks >= 3, 'three checks over TLS')
    assert.equal(changes, [], 'never down')
    assert.is(balancer.health(balancer.peers[0]!)?.checked, 'up')
  }),
)

Checker('should follow setPeers: new peers get checked, removed ones no longer', () =>
  withScope(async (scope) => {
    const a = scope.defer(await flippable('a'), (u) => u.close())
    const b = scope.defer(await flippable('b'), (u) => u.close())
    const balancer = createBalancer({ peers: [a.address] })
    const checker = scope.defer(createHealthChecker({ balancer, healthCheck: { path: '/healthz', interval: 100, timeout: 100 } }), (c) => c.close())
    await until(() => a.checks > 0, 'a checked')
    assert.is(b.checks, 0)
    balancer.setPeers([b.address])
    await until(() => b.checks > 0, 'b checked once added')
    assert.is(checker.state(a.address), undefined)
    // Let a check of a that was in flight at the change land, then see that no more come.
    await sleep(50)
    const before = a.checks
    await sleep(100)
    assert.is(a.checks, before, 'a removed: no more checks')
  }),
)

Checker('should stop every check on close', () =>
  withScope(async (scope) => {
    const a = scope.defer(await flippable('a'), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [a.address], healthCheck: { path: '/healthz', interval: 100, timeout: 100 } }), (p) => p.close())
    await until(() => a.checks > 1, 'checked')
    proxy.proxy.close()
    const before = a.checks
    await sleep(100)
    assert.is(a.checks, before)
    assert.is(proxy.proxy.healthChecker?.state(a.address), undefined)
  }),
)

Checker('should mark nothing without a balancer, and tell onChange (a cluster primary)', () =>
  withScope(async (scope) => {
    const a = scope.defer(await flippable('a'), (u) => u.close())
    a.healthy = false
    const { peers } = createBalancer({ peers: [a.address] })
    const changes: HealthCheckChange[] = []
    scope.defer(
      createHealthChecker({ peers, healthCheck: { path: '/healthz', interval: 100, timeout: 100, falls: 1 }, onChange: (c) => changes.push(c) }),
      (c) => c.close(),
    )
    await until(() => changes.length > 0, 'a down')
    // What a worker does with the broadcast change:
    const worker = createBalancer({ peers: [a.address, '127.0.0.1:9'] })
    worker.setChecked(changes[0]!.peer.id, changes[0]!.up)
    assert.not.ok(worker.isUsable(a.address))
  }),
)

Checker('should hand what onChange throws to onError', () =>
  withScope(async (scope) => {
    const a = scope.defer(await flippable('a'), (u) => u.close())
    a.healthy = false
    const errors: unknown[] = []
    const balancer = createBalancer({ peers: [a.address] })
    scope.defer(
      createHealthChecker({
        balancer,
        healthCheck: { path: '/healthz', interval: 100, timeout: 100, falls: 1 },
        onChange: () => {
          throw new Error('hook bug')
        },
        onError: (e) => errors.push(e),
      }),
      (c) => c.close(),
    )
    await until(() => errors.length > 0, 'the error reported')
    assert.is((errors[0] as Error).message, 'hook bug')
    assert.not.ok(balancer.isUsable(a.address), 'the peer is marked all the same')
  }),
)

Checker('should refuse a checker without peers, or with both a balancer and peers', () => {
  const balancer = createBalancer({ peers: ['127.0.0.1:1'] })
  for (const options of [{ healthCheck: { path: '/' } }, { balancer, peers: balancer.peers, healthCheck: { path: '/' } }]) {
    try {
      createHealthChecker(options).close()
      assert.unreachable()
    } catch (error) {
      assert.instance(error, StickyConfigError)
    }
  }
})
Checker('should refuse unknown options and options of the wrong type, naming them', () => {
  const balancer = createBalancer({ peers: ['127.0.0.1:1'] })
  const healthCheck = { path: '/' }
  const cases: [Record<string, unknown>, string][] = [
    [{ balancer, healthCheck, every: 5 }, 'every'],
    [{ balancer: { peers: balancer.peers }, healthCheck }, 'balancer'],
    [{ peers: 'a:1', healthCheck }, 'peers'],
    [{ balancer, healthCheck, agent: {} }, 'agent'],
    [{ balancer, healthCheck, onChange: true }, 'onChange'],
    [{ balancer, healthCheck, onError: 'log' }, 'onError'],
  ]
  for (const [options, option] of cases) {
    try {
      createHealthChecker(options as never).close()
      assert.unreachable(option)
    } catch (error) {
      assert.instance(error, StickyConfigError, option)
      assert.is((error as StickyConfigError).option, option)
    }
  }
})

Checker('should pick up peers from a peers function that starts empty', () =>
  withScope(async (scope) => {
    const a = scope.defer(await flippable('a'), (u) => u.close())
    const { peers } = createBalancer({ peers: [a.address] })
    let list: typeof peers = []
    scope.defer(createHealthChecker({ peers: () => list, healthCheck: { path: '/healthz', interval: 100, timeout: 100 } }), (c) => c.close())
    list = peers
    await until(() => a.checks > 0, 'a checked once the function returns it')
  }),
)

Checker('should use an Agent the agent option returns as it is', () =>
  withScope(async (scope) => {
    const server = createHttpsServer({ key: TEST_KEY, cert: TEST_CERT }, (_req, res) => res.end('ok'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    scope.defer(server, (s) => new Promise<void>((resolve) => (s.closeAllConnections(), s.close(() => resolve()))))
    const agent = scope.defer(new HttpsAgent({ ca: TEST_CERT }), (a) => a.destroy())
    const balancer = createBalancer({ peers: [`https://127.0.0.1:${(server.address() as AddressInfo).port}`] })
    scope.defer(createHealthChecker({ balancer, healthCheck: { path: '/', interval: 100, timeout: 100, falls: 1 }, agent: () => agent }), (c) => c.close())
    await until(() => balancer.health(balancer.peers[0]!)?.checked !== 'unchecked', 'checked')
    assert.is(balancer.health(balancer.peers[0]!)?.checked, 'up', 'the given agent trusts the test CA')
  }),
)

Checker('should fail a check whose agent option throws, and keep checking', () =>
  withScope(async (scope) => {
    const a = scope.defer(await flippable('a'), (u) => u.close())
    const balancer = createBalancer({ peers: [a.address] })
    const changes: HealthCheckChange[] = []
    let calls = 0
    const agent = (): never => {
      calls++
      throw new Error('no agent')
    }
    scope.defer(
      createHealthChecker({ balancer, healthCheck: { path: '/healthz', interval: 100, timeout: 100, falls: 1 }, agent, onChange: (c) => changes.push(c) }),
      (c) => c.close(),
    )
    await until(() => changes.length > 0 && calls > 1, 'down, and asked again')
    assert.equal([changes[0]!.up, changes[0]!.detail], [false, 'proxy no agent'])
  }),
)

Checker('should close the connection of a check that timed out', () =>
  withScope(async (scope) => {
    // Reads (and ignores) the request, so that it sees the checker close the connection.
    const silent = scope.defer(await rawUpstream((socket) => socket.on('error', () => undefined).resume()), (u) => u.close())
    const checker = scope.defer(
      createHealthChecker({ peers: createBalancer({ peers: [silent.address] }).peers, healthCheck: { path: '/', interval: 100, timeout: 100 } }),
      (c) => c.close(),
    )
    await until(() => silent.connections >= 4, 'several checks timed out')
    await until(() => silent.sockets.size <= 1, 'no more open than the check in flight')
    checker.close()
    await until(() => silent.sockets.size === 0, 'every check connection closed')
  }),
)

Checker('should pass a check once 64 KiB of an endless body arrived, and fail one whose response is cut', () =>
  withScope(async (scope) => {
    const endless = scope.defer(
      await httpUpstream((req, res) => {
        req.resume()
        const chunk = Buffer.alloc(16 * 1024, 'x')
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump)
        }
        pump()
      }),
      (u) => u.close(),
    )
    const cut = scope.defer(
      await rawUpstream((socket) => {
        socket.on('error', () => undefined)
        socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial'))
      }),
      (u) => u.close(),
    )
    const balancer = createBalancer({ peers: [endless.address, cut.address] })
    const changes: HealthCheckChange[] = []
    scope.defer(createHealthChecker({ balancer, healthCheck: { path: '/', interval: 500, timeout: 500, falls: 1 }, onChange: (c) => changes.push(c) }), (c) =>
      c.close(),
    )
    await until(() => balancer.health(endless.address)?.checked !== 'unchecked' && changes.length > 0, 'both checked')
    assert.is(balancer.health(endless.address)?.checked, 'up')
    assert.equal(
      changes.map((c) => [c.peer.id, c.up, c.detail]),
      [[cut.address, false, 'status 200, response cut']],
    )
  }),
)

Checker.run()
