import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { analyzeLoad, analyzePair, analyzeSoak, backendAt, type FaultTimes } from '../src/reliability-analysis'
import { FULL_RELIABILITY_BUDGET, parseDuration, parseReliabilityArgs, QUICK_RELIABILITY_BUDGET } from '../src/reliability-args'
import { startFleet, type BackendChange, type FleetResult, type SessionRecord } from '../src/reliability-fleet'
import { parseVmRss, readRss, slopePerMinute } from '../src/rss'
import { fcParams } from './_fc'

const durations = suite('parseDuration')

for (const [text, ms] of [
  ['60s', 60_000],
  ['5m', 300_000],
  ['500ms', 500],
  ['1m30s', 90_000],
  ['1h', 3_600_000],
  ['2', 2_000],
  ['0.5s', 500],
  ['1.5', 1_500],
] as const) {
  durations(`should read ${text} as ${ms} ms`, () => {
    assert.is(parseDuration(text), ms)
  })
}

for (const bad of ['', 's', '10x', '1s30m', '5m5m', '0s', '0', '-1s', '1 s', 'ms']) {
  durations(`should refuse ${JSON.stringify(bad)}`, () => {
    assert.throws(
      () => parseDuration(bad),
      (e: unknown) => e instanceof RangeError,
    )
  })
}

durations('should read any combination of units from the largest down', () => {
  fc.assert(
    fc.property(fc.nat(3), fc.nat(59), fc.nat(59), fc.nat(999), (h, m, s, ms) => {
      const text = [h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', s > 0 ? `${s}s` : '', ms > 0 ? `${ms}ms` : ''].join('')
      fc.pre(text !== '')
      assert.is(parseDuration(text), h * 3_600_000 + m * 60_000 + s * 1000 + ms)
    }),
    fcParams(),
  )
})

durations.run()

const args = suite('parseReliabilityArgs')

args('should run every part with the full budget by default', () => {
  assert.equal(parseReliabilityArgs(['reliability']), { parts: ['load', 'soak', 'pair'], budget: FULL_RELIABILITY_BUDGET, quick: false, write: true })
  assert.equal(parseReliabilityArgs(['--', 'reliability']).budget, FULL_RELIABILITY_BUDGET)
})

args('should take durations from flags, in both spellings, before the environment', () => {
  const request = parseReliabilityArgs(['reliability', '--load', '10s', '--soak=2m', '--clients', '50'], {
    STICKY_RELIABILITY_LOAD: '99s',
    STICKY_RELIABILITY_PAIR: '7s',
  })
  assert.is(request.budget.loadMs, 10_000)
  assert.is(request.budget.soakMs, 120_000)
  assert.is(request.budget.pairMs, 7_000)
  assert.is(request.budget.clients, 50)
  // Derived: a quarter of a short load as downtime, a fifth of a short soak as warm-up.
  assert.is(request.budget.downMs, 2_500)
  assert.is(request.budget.warmupMs, 24_000)
})

args('should keep the default downtime and warm-up for long runs, and take given ones', () => {
  const long = parseReliabilityArgs(['--load', '10m', '--soak', '1h']).budget
  assert.is(long.downMs, FULL_RELIABILITY_BUDGET.downMs)
  assert.is(long.warmupMs, FULL_RELIABILITY_BUDGET.warmupMs)
  const given = parseReliabilityArgs(['--down', '1s', '--warmup', '10s']).budget
  assert.is(given.downMs, 1_000)
  assert.is(given.warmupMs, 10_000)
})

args('should run the named parts in their order, and --quick with tiny budgets and no writing', () => {
  const request = parseReliabilityArgs(['pair', 'load', '--quick'])
  assert.equal(request.parts, ['load', 'pair'])
  assert.equal(request.budget, QUICK_RELIABILITY_BUDGET)
  assert.is(request.write, false)
  assert.is(parseReliabilityArgs(['--no-write']).write, false)
})

for (const [argv, pattern] of [
  [['http'], /unknown argument "http"/],
  [['--load'], /--load needs a value/],
  [['--load', 'soon'], /--load: expected a duration/],
  [['--clients', '0'], /--clients/],
  [['--clients', '2.5'], /--clients/],
  [['--load', '4s', '--down', '2s'], /--down/],
  [['--soak', '10s', '--warmup', '10s'], /--warmup/],
] as const) {
  args(`should refuse ${JSON.stringify(argv)}`, () => {
    assert.throws(
      () => parseReliabilityArgs(argv),
      (e: unknown) => e instanceof RangeError && pattern.test(e.message),
    )
  })
}

args('should refuse a bad value from the environment, naming the flag', () => {
  assert.throws(() => parseReliabilityArgs([], { STICKY_RELIABILITY_SOAK: 'forever' }), /--soak/)
})

args.run()

const rss = suite('rss')

rss('should read VmRSS in bytes', () => {
  assert.is(parseVmRss('Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t   81234 kB\nRssAnon:\t 1 kB\n'), 81234 * 1024)
  assert.throws(() => parseVmRss('Name:\tnode\n'), /VmRSS/)
})

rss('should read the RSS of a live process from /proc', async () => {
  const bytes = await readRss(process.pid)
  assert.ok(bytes > 1024 * 1024, String(bytes))
})

rss('should find the slope of a line through any samples, and nothing in fewer than two', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -10_000_000, max: 10_000_000 }),
      fc.integer({ min: 1_000_000, max: 1_000_000_000 }),
      fc.uniqueArray(fc.integer({ min: 0, max: 600_000 }), { minLength: 2, maxLength: 50 }),
      (perMinute, base, times) => {
        const samples = times.map((at) => ({ at, rss: base + (perMinute * at) / 60_000 }))
        assert.ok(Math.abs(slopePerMinute(samples) - perMinute) < 1e-3 * Math.max(1, Math.abs(perMinute)), `${slopePerMinute(samples)} vs ${perMinute}`)
      },
    ),
    fcParams(),
  )
  assert.ok(Number.isNaN(slopePerMinute([{ at: 1, rss: 5 }])))
  assert.ok(
    Number.isNaN(
      slopePerMinute([
        { at: 1, rss: 5 },
        { at: 1, rss: 6 },
      ]),
    ),
  )
})

rss.run()

// Made-up fleet records: a session per client, backends by index.
function session(client: number, first: number | undefined, changes: BackendChange[] = [], perOrigin: number[] = [1]): SessionRecord {
  return {
    client,
    startedAt: 0,
    requests: 10,
    perOrigin,
    first,
    firstAt: 10,
    last: changes.at(-1)?.to ?? first,
    lastAt: 1_000,
    pinnedVia: first === undefined ? undefined : 0,
    changes,
  }
}

function fleetOf(sessions: SessionRecord[], perOrigin: number[] = [100]): FleetResult {
  const counts = { issued: 100, completed: 100, perSecond: [50, 50], served: [40, 20, 40], unnamed: 0, cookieMismatches: 0 }
  return { startedAt: 0, elapsedMs: 2_000, failures: [], sessions, perOrigin, ...counts }
}

const FAULT: FaultTimes = { backend: 1, killedAt: 1_000, restartedAt: 1_500, listeningAt: 1_600, restartTries: 1 }

const analysis = suite('analyzeLoad')

analysis('should tell a client that was on a backend at a time from its changes', () => {
  const s = session(0, 2, [
    { at: 500, from: 2, to: 0 },
    { at: 1_500, from: 0, to: 1 },
  ])
  assert.is(backendAt(s, 5), undefined)
  assert.is(backendAt(s, 400), 2)
  assert.is(backendAt(s, 500), 2)
  assert.is(backendAt(s, 501), 0)
  assert.is(backendAt(s, 2_000), 1)
})

analysis('should count re-pins of the killed backend’s clients and moves of the others apart', () => {
  const result = analyzeLoad(
    fleetOf([
      session(0, 0),
      session(1, 1, [{ at: 1_050, from: 1, to: 0 }]),
      session(2, 1, [{ at: 1_200, from: 1, to: 2 }]),
      // Re-pinned twice: away from the dead backend, then away from a live one.
      session(3, 1, [
        { at: 1_100, from: 1, to: 2 },
        { at: 1_700, from: 2, to: 0 },
      ]),
      // Moved while its backend lived, before the kill.
      session(4, 2, [{ at: 900, from: 2, to: 0 }]),
      // Never answered.
      session(5, undefined),
    ]),
    FAULT,
    3,
  )
  assert.is(result.clients, 5)
  assert.equal(result.pinnedAtKill, [2, 3, 0])
  assert.is(result.killedClients, 3)
  assert.equal(result.repins, [
    [1, 2],
    [2, 1],
  ])
  assert.is(result.repinnedOnce, 2)
  assert.equal(result.movedTo, [1, 0, 2])
  assert.equal(result.repinDelay, { max: 200, median: 100 })
  assert.is(result.strayClients, 2)
  assert.equal(
    result.strayChanges.map((c) => c.client),
    [3, 4],
  )
  assert.is(result.throughput, 50)
})

analysis('should count a killed backend’s client that never moved as re-pinned zero times', () => {
  const result = analyzeLoad(fleetOf([session(0, 1), session(1, 1, [{ at: 1_020, from: 1, to: 0 }])]), FAULT, 3)
  assert.equal(result.repins, [
    [0, 1],
    [1, 1],
  ])
  assert.is(result.repinnedOnce, 1)
  assert.is(result.strayClients, 0)
})

analysis('should account for every client of the killed backend exactly once', () => {
  const change = fc.record({ at: fc.integer({ min: 0, max: 2_000 }), from: fc.nat(2), to: fc.nat(2) })
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.option(fc.nat(2), { nil: undefined }), fc.array(change, { maxLength: 4 })), { maxLength: 30 }), (clients) => {
      const sessions = clients.map(([first, changes], i) => session(i, first, first === undefined ? [] : [...changes].sort((a, b) => a.at - b.at)))
      const result = analyzeLoad(fleetOf(sessions), FAULT, 3)
      assert.is(
        result.repins.reduce((n, [, c]) => n + c, 0),
        result.killedClients,
      )
      assert.is(result.pinnedAtKill[1], result.killedClients)
      assert.ok(result.movedTo.reduce((a, b) => a + b, 0) <= result.killedClients)
      assert.ok(result.strayClients <= result.clients)
    }),
    fcParams(),
  )
})

analysis.run()

const others = suite('analyzeSoak and analyzePair')

others('should measure the RSS slope after the warm-up only', () => {
  // Steep during the warm-up, flat after it.
  const samples = Array.from({ length: 120 }, (_, i) => ({ at: i * 1_000, rss: i < 60 ? 50e6 + i * 1e6 : 110e6 }))
  const result = analyzeSoak(fleetOf([session(0, 0)]), samples, 60_000)
  assert.is(result.slope, 0)
  assert.is(result.measured, 60)
  assert.equal(result.afterWarmup, { at: 60_000, rss: 110e6 })
  assert.equal(result.end, { at: 119_000, rss: 110e6 })
  assert.is(result.min, 110e6)
  assert.is(result.strayClients, 0)
  const leaking = analyzeSoak(
    fleetOf([]),
    samples.map((s) => ({ at: s.at, rss: 1e8 + s.at * 10 })),
    60_000,
  )
  assert.ok(Math.abs(leaking.slope - 600_000) < 1e-6)
  assert.ok(Math.abs(leaking.slopeSecondHalf - 600_000) < 1e-6)
})

others('should count the sessions through both proxies and those that saw two backends', () => {
  const result = analyzePair(
    fleetOf(
      [
        session(0, 0, [], [3, 3]),
        session(1, 2, [{ at: 5, from: 2, to: 1 }], [2, 1]),
        session(2, 1, [], [1, 0]),
        { ...session(3, 1, [], [2, 2]), pinnedVia: 1 },
        session(4, undefined, [], [1, 0]),
      ],
      [60, 40],
    ),
  )
  assert.equal(result, { clients: 4, throughBoth: 3, sawTwoBackends: 1, pinnedVia: [3, 1], throughput: 50 })
})

others.run()

const fleet = suite('startFleet')

fleet('should record every kind of failure, backend changes and cookies that name another backend', async () => {
  // Request n (1-based, in order: one client) is answered as scripted; later ones by backend 2.
  let n = 0
  const server = createServer((req, res) => {
    n += 1
    const cookie = req.headers.cookie ?? ''
    if (n === 3) return void res.writeHead(503, { 'content-type': 'text/plain' }).end('busy\n')
    if (n === 4) return void req.socket.destroy()
    if (n === 6) return // never answered: the client's timeout
    if (n <= 7) return void res.writeHead(200, { 'x-backend': '0', ...(n === 1 ? { 'set-cookie': 'route=a; Path=/' } : {}) }).end(cookie)
    // n = 8: backend 2 answers while the cookie still names backend 0 (a mismatch); then it pins.
    res.writeHead(200, { 'x-backend': '2', ...(n === 9 ? { 'set-cookie': ['other=1', 'route=c; Path=/'] } : {}) }).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const running = startFleet({
      origins: [origin],
      clients: 1,
      durationMs: 600,
      sessionRequests: Number.POSITIVE_INFINITY,
      alternate: false,
      cookieName: 'route',
      backendOfCookie: new Map([
        ['a', 0],
        ['c', 2],
      ]),
      requestTimeoutMs: 150,
    })
    const result = await running.done
    assert.ok(result.issued > 9, String(result.issued))
    assert.is(result.issued, n)
    assert.equal(
      result.failures.map((f) => [f.status, f.error, f.body, f.pinned]),
      [
        [503, undefined, 'busy', 0],
        [undefined, 'ECONNRESET', '', 0],
        [undefined, 'timeout', '', 0],
      ],
    )
    assert.ok(result.failures[2]!.at - result.failures[2]!.sentAt >= 150)
    assert.is(result.completed, result.issued - 3)
    assert.equal(result.served, [4, 0, result.completed - 4])
    assert.is(result.cookieMismatches, 1)
    const [only] = result.sessions
    assert.is(result.sessions.length, 1)
    assert.is(only!.first, 0)
    assert.is(only!.last, 2)
    assert.equal(
      only!.changes.map((c) => [c.from, c.to]),
      [[0, 2]],
    )
    assert.is(only!.pinnedVia, 0)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

fleet.run()
