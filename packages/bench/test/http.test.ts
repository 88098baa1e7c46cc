import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { measureHttp, renderHttp, spreadProblem, type HttpBudget, type HttpRoute } from '../src/http.bench'
import type { Load } from '../src/load'
import { fcParams } from './_fc'

const TINY: HttpBudget = { connections: 4, seconds: 0.2, warmupSeconds: 0.05, bodyBytes: 256 * 1024, transfers: 1 }

const measure = suite('measureHttp')

measure('should measure every route over real sockets, pinned where labelled, and stream whole bodies', async () => {
  const results = await measureHttp(TINY, () => undefined)
  for (const run of [...results.direct, ...results.proxied]) {
    assert.ok(run.load.completed > 0, run.label)
    assert.is(run.load.failures, 0, run.label)
    assert.ok(run.load.p99 >= run.load.p50 && run.load.p50 > 0, run.label)
  }
  const [hit, fresh, classic] = results.proxied
  assert.ok(hit!.label.includes('with cookie'))
  assert.equal(hit!.spread.slice(1), [0, 0])
  assert.ok(fresh!.spread.every((n) => n > 0))
  assert.ok(classic!.spread.every((n) => n > 0))
  for (const run of results.proxied) assert.ok(run.memory !== undefined && run.memory.before.rss > 0)
  assert.is(results.direct[0].memory, undefined)
  assert.is(results.transfers.length, 3)
  for (const t of results.transfers) assert.ok(t.downloadMs > 0 && t.uploadMs > 0, t.label)
  assert.is(results.transfers[0]!.peak, undefined)
  assert.ok(results.transfers.slice(1).every((t) => t.peak !== undefined))

  const [requests, notes, transfers] = renderHttp(results, TINY)
  assert.is(requests!.split('\n').length, 2 + 1 + results.proxied.length)
  assert.match(requests!, /\| node:http backend, direct \(baseline, mean of 2 runs\) \| [\d ]+ \| 1\.00× \|/)
  assert.match(notes!, /^Drift: /)
  assert.is(transfers!.split('\n').length, 2 + results.transfers.length)
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
