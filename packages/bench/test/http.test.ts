import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { renderHttp } from '../src/http.bench'
import { measureHttp, spreadProblem, type HttpBudget, type HttpRoute } from '../src/http-measure'
import type { Load } from '../src/load'
import { fcParams } from './_fc'

const TINY: HttpBudget = { connections: 4, rounds: 2, seconds: 0.2, warmupSeconds: 0.05, bodyBytes: 256 * 1024, transfers: 2 }

const measure = suite('measureHttp')

measure('should measure every route in every round over real sockets, pinned where labelled, and stream whole bodies', async () => {
  const lines: string[] = []
  const results = await measureHttp(TINY, (line) => lines.push(line))
  assert.equal(
    results.routes.map((r) => r.route.label),
    ['node:http backend, direct', 'sticky-node, with cookie (hit)', 'sticky-node, no cookie (new)', 'http-proxy, round robin'],
  )
  for (const r of results.routes) {
    assert.is(r.rounds.length, TINY.rounds, r.route.label)
    for (const run of r.rounds) {
      assert.ok(run.completed > 0, r.route.label)
      assert.is(run.failures, 0, r.route.label)
      assert.ok(run.p99 >= run.p50 && run.p50 > 0, r.route.label)
    }
    assert.is(r.memory === undefined, r.route.proxy === undefined, r.route.label)
  }
  const [, hit, fresh, classic] = results.routes
  for (const spread of hit!.spreads) assert.equal(spread.slice(1), [0, 0])
  for (const spread of [...fresh!.spreads, ...classic!.spreads])
    assert.ok(
      spread.every((n) => n > 0),
      spread.join('/'),
    )
  assert.equal(
    results.transfers.map((t) => t.route.label),
    ['node:http backend, direct', 'sticky-node, no cookie (new)', 'http-proxy, round robin'],
  )
  for (const t of results.transfers) {
    assert.is(t.downloadMs.length, TINY.transfers)
    assert.ok(
      [...t.downloadMs, ...t.uploadMs].every((ms) => ms > 0),
      t.route.label,
    )
    assert.is(t.peak === undefined, t.route.proxy === undefined, t.route.label)
  }
  assert.is(lines.length, TINY.rounds * results.routes.length + TINY.transfers * results.transfers.length)

  const [requests, notes, transfers] = renderHttp(results, TINY)
  assert.is(requests!.split('\n').length, 2 + results.routes.length)
  assert.match(requests!, /\| node:http backend, direct \(baseline\) \| [\d ]+ \| 1\.00× \| [\d.]+ (µs|ms) \| 1\.00× \| 0 \|/)
  assert.match(notes!, /^Drift: /)
  assert.is(transfers!.split('\n').length, 2 + results.transfers.length)
  assert.match(transfers!, /\| node:http backend, direct \(baseline\) \| \d+ \| 1\.00× \| \d+ \| 1\.00× \|/)
})

measure.run()

const problems = suite('spreadProblem')

const direct: HttpRoute = { label: 'direct', proxy: undefined, pinned: false }
const pinned: HttpRoute = { label: 'pinned', proxy: 'sticky', pinned: true }
const roundRobin: HttpRoute = { label: 'rr', proxy: 'http-proxy', pinned: false }

function loadOf(completed: number, failures = 0): Load {
  return { requestsPerSecond: completed, p50: 1, p99: 2, completed, failures }
}

const cases: ReadonlyArray<readonly [route: HttpRoute, load: Load, spread: number[], problem: RegExp | undefined]> = [
  [direct, loadOf(10), [10, 0, 0], undefined],
  [pinned, loadOf(10), [12, 0, 0], undefined],
  [pinned, loadOf(10), [9, 1, 0], /unpinned/],
  [direct, loadOf(10), [10, 0, 1], /unpinned/],
  [roundRobin, loadOf(30), [10, 10, 10], undefined],
  [roundRobin, loadOf(30), [20, 5, 5], /uneven/],
  // Regression: a total that does not divide by the backends is as even as it can be.
  [roundRobin, loadOf(17), [6, 6, 5], undefined],
  [roundRobin, loadOf(17), [8, 6, 3], /uneven/],
  [roundRobin, loadOf(30, 1), [10, 10, 10], /1 failed/],
  [roundRobin, loadOf(0), [0, 0, 0], /no request/],
  [pinned, loadOf(10), [5, 0, 0], /backends saw 5/],
]
for (const [route, load, spread, problem] of cases) {
  problems(`should ${problem === undefined ? 'accept' : `report ${problem.source}`} for ${route.label} with ${spread.join('/')}`, () => {
    const found = spreadProblem(route, load, spread)
    if (problem === undefined) assert.is(found, undefined)
    else assert.match(found ?? '', problem)
  })
}

problems('should accept any even round robin and any pinned run without failures', () => {
  fc.assert(
    fc.property(fc.integer({ min: 10, max: 1e6 }), fc.integer({ min: 0, max: 3 }), (n, extra) => {
      assert.is(spreadProblem(roundRobin, loadOf(3 * n), [n + extra, n, n]), undefined)
      assert.is(spreadProblem(pinned, loadOf(n), [n + extra, 0, 0]), undefined)
      assert.ok(spreadProblem(pinned, loadOf(n), [n, 0, 1]) !== undefined)
    }),
    fcParams(),
  )
})

problems.run()

const render = suite('renderHttp')

const proxied: HttpRoute = { label: 'proxy', proxy: 'sticky', pinned: false }

function runOf(requestsPerSecond: number, p99 = 1): Load {
  return { requestsPerSecond, p50: p99 / 2, p99, completed: 1, failures: 0 }
}

function resultsOf(directRates: readonly number[], proxyRates: readonly number[], downloads: readonly [number[], number[]] = [[100], [200]]) {
  const memory = { before: { rss: 2 ** 20, heapUsed: 2 ** 20 }, after: { rss: 2 ** 21, heapUsed: 2 ** 20 } }
  return {
    routes: [
      { route: direct, rounds: directRates.map((r) => runOf(r)), spreads: directRates.map((r) => [r, 0, 0]), memory: undefined },
      { route: proxied, rounds: proxyRates.map((r) => runOf(r, 2)), spreads: proxyRates.map((r) => [r, r, r]), memory },
    ],
    transfers: [
      { route: direct, downloadMs: downloads[0], uploadMs: downloads[0], peak: undefined },
      { route: proxied, downloadMs: downloads[1], uploadMs: downloads[1], peak: { heap: 1024, rss: 2 ** 20 } },
    ],
  }
}

const BUDGET: HttpBudget = { ...TINY, bodyBytes: 100 * 2 ** 20 }

render('should take the median of per-round ratios, not the ratio of medians', () => {
  const [requests] = renderHttp(resultsOf([100, 300, 200], [60, 90, 100]), BUDGET)
  const row = requests!.split('\n')[3]!
  assert.ok(row.startsWith('| proxy | 90 | 0.50× | 2.00 ms | 2.00× | 0 | 1.0 MiB → 2.0 MiB | 1.0 MiB → 1.0 MiB |'), row)
})

render('should report streamed throughput against the direct transfer of the same round', () => {
  const [, , transfers] = renderHttp(
    resultsOf(
      [1],
      [1],
      [
        [100, 400],
        [200, 400],
      ],
    ),
    BUDGET,
  )
  const rows = transfers!.split('\n')
  assert.ok(rows[2]!.startsWith('| direct (baseline) | 625 | 1.00× | 625 | 1.00× |'), rows[2])
  assert.ok(rows[3]!.startsWith('| proxy | 375 | 0.75× | 375 | 0.75× | +1.0 KiB | +1.0 MiB |'), rows[3])
})

render('should not move a ratio when a round is slower for every route alike', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1_000, max: 100_000 }), fc.double({ min: 0.1, max: 1, noNaN: true })), { minLength: 1, maxLength: 5 }),
      fc.array(fc.double({ min: 0.2, max: 5, noNaN: true }), { minLength: 5, maxLength: 5 }),
      (rounds, drift) => {
        const directRates = rounds.map(([rate]) => rate)
        const proxyRates = rounds.map(([rate, share]) => rate * share)
        const steady = renderHttp(resultsOf(directRates, proxyRates), BUDGET)[0]!.split('\n')[3]!.split(' | ')[2]
        const drifted = renderHttp(
          resultsOf(
            directRates.map((r, i) => r * drift[i]!),
            proxyRates.map((r, i) => r * drift[i]!),
          ),
          BUDGET,
        )[0]!
          .split('\n')[3]!
          .split(' | ')[2]
        assert.is(drifted, steady)
      },
    ),
    fcParams(),
  )
})

render('should refuse results whose first route is not the direct one', () => {
  const results = resultsOf([1], [1])
  assert.throws(() => renderHttp({ ...results, routes: [...results.routes].reverse() }, BUDGET), /direct route must come first/)
})

render.run()
