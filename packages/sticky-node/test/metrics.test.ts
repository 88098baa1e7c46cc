import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { deadPort, fastCheckSeed, withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { attemptFacts, createProxyMetrics, type PeerReading, type ProxyMetrics, statusClass } from '../src/metrics'
import type { AttemptRecord, ProxyResponseEvent } from '../src/proxy'
import { parsePrometheus, type Sample, sum } from './_prometheus'
import { listenProxy, type ListeningProxy } from './_server'
import { EventLog, fetchOnce, httpUpstream, rawUpstream } from './_upstream'

const seed = fastCheckSeed('metrics.test')

async function scrape(metrics: ProxyMetrics): Promise<Sample[]> {
  return parsePrometheus(await metrics.registry.metrics())
}

/** A proxy whose hooks feed `metrics` under route `/`, as the command line wires them; and what they saw. */
async function meteredProxy(peers: string[], metrics: ProxyMetrics) {
  const responses = new EventLog<ProxyResponseEvent>()
  const attempts: AttemptRecord[] = []
  const proxy: ListeningProxy = await listenProxy({
    peers,
    onResponse: (event) => {
      responses.push(event)
      metrics.response('/', event)
    },
    onAttempt: (record) => {
      attempts.push(record)
      metrics.attempt('/', attemptFacts(record))
    },
  })
  return { proxy, responses, attempts }
}

const noPeers = (): readonly PeerReading[] => []

const StatusClass = suite('statusClass')

StatusClass('should name a status 100-599 by its hundreds, and anything else other', () => {
  fc.assert(
    fc.property(fc.integer({ min: 100, max: 599 }), (status) => statusClass(status) === `${Math.floor(status / 100)}xx`),
    { seed },
  )
  fc.assert(
    fc.property(
      fc.oneof(fc.integer({ max: 99 }), fc.integer({ min: 600 }), fc.constantFrom(Number.NaN, 99.5, 599.5)),
      (status) => statusClass(status) === 'other',
    ),
    { seed },
  )
  assert.equal([101, 200, 499, 599, 600, 0].map(statusClass), ['1xx', '2xx', '4xx', '5xx', 'other', 'other'])
})

StatusClass.run()

const Metrics = suite('createProxyMetrics')

Metrics('should count a peer answering a status beyond 599 as its protocol error, and the request as the 502 it got', () =>
  withScope(async (scope) => {
    // Node's parser takes any three-digit status; RFC 9110 section 15 defines none beyond 599.
    const odd = scope.defer(
      await rawUpstream((socket) => {
        socket.once('data', () => socket.end('HTTP/1.1 799 Odd\r\ncontent-length: 3\r\nconnection: close\r\n\r\nodd'))
      }),
      (u) => u.close(),
    )
    const metrics = createProxyMetrics(noPeers)
    const { proxy, responses } = await meteredProxy([odd.address], metrics)
    scope.defer(proxy, (p) => p.close())
    assert.is((await fetchOnce(proxy.url)).status, 502)
    const [event] = await responses.first(1)
    assert.is(event?.status, 502)
    const samples = await scrape(metrics)
    assert.is(sum(samples, 'sticky_requests_total', { route: '/', peer: odd.address, outcome: 'new', status_class: '5xx' }), 1)
    assert.is(sum(samples, 'sticky_upstream_failures_total', { route: '/', peer: odd.address, kind: 'peer-protocol-error' }), 1)
    assert.is(sum(samples, 'sticky_requests_total'), 1)
  }),
)

Metrics('should count an attempt whose response was cut after its head once, and its failure (regression: counted twice)', () =>
  withScope(async (scope) => {
    const cut = scope.defer(
      await rawUpstream((socket) => {
        socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part'))
      }),
      (u) => u.close(),
    )
    const metrics = createProxyMetrics(noPeers)
    const { proxy, responses, attempts } = await meteredProxy([cut.address], metrics)
    scope.defer(proxy, (p) => p.close())
    await fetchOnce(proxy.url).catch(() => undefined)
    await responses.first(1)
    // The library's records: the head (answered), then the cut after it (blamed).
    assert.equal(
      attempts.map((r) => [r.event, r.afterHead, r.verdict.blame]),
      [
        ['peer-answered', false, false],
        ['peer-cut-response', true, true],
      ],
    )
    const samples = await scrape(metrics)
    const labels = { route: '/', peer: cut.address }
    assert.is(sum(samples, 'sticky_upstream_attempts_total', labels), 1)
    assert.is(sum(samples, 'sticky_upstream_duration_seconds_count', labels), 1)
    assert.is(sum(samples, 'sticky_upstream_failures_total', { ...labels, kind: 'peer-cut-response' }), 1)
  }),
)

Metrics('should count attempts by kind, the retry on its peer, the failure on the blamed peer only, latency in seconds', () =>
  withScope(async (scope) => {
    const dead = `127.0.0.1:${await deadPort()}`
    const live = scope.defer(await httpUpstream((_req, res) => res.end('live')), (u) => u.close())
    const metrics = createProxyMetrics(noPeers)
    const { proxy, responses, attempts } = await meteredProxy([dead, live.address], metrics)
    scope.defer(proxy, (p) => p.close())
    const pin = `route=${proxy.proxy.balancer.cookieValue(proxy.proxy.balancer.peers[0]!)}`
    assert.is((await fetchOnce(proxy.url, { headers: { cookie: pin } })).body.toString(), 'live')
    await responses.first(1)
    // The real records: the pinned peer refused (blamed), the other answered (a retry, not blamed).
    assert.equal(
      attempts.map((r) => [r.peer.id, r.event, r.verdict.blame, r.retry]),
      [
        [dead, 'connect-failed', true, false],
        [live.address, 'peer-answered', false, true],
      ],
    )
    const samples = await scrape(metrics)
    assert.is(sum(samples, 'sticky_requests_total', { route: '/', peer: live.address, outcome: 'repinned', status_class: '2xx' }), 1)
    assert.is(sum(samples, 'sticky_upstream_attempts_total', { route: '/', peer: dead, kind: 'connect-failed' }), 1)
    assert.is(sum(samples, 'sticky_upstream_attempts_total', { route: '/', peer: live.address, kind: 'peer-answered' }), 1)
    assert.is(sum(samples, 'sticky_upstream_retries_total', { route: '/', peer: live.address }), 1)
    assert.is(sum(samples, 'sticky_upstream_retries_total', { peer: dead }), 0, 'the first attempt is no retry')
    assert.is(sum(samples, 'sticky_upstream_failures_total', { route: '/', peer: dead, kind: 'connect-failed' }), 1)
    assert.is(sum(samples, 'sticky_upstream_failures_total', { peer: live.address }), 0, 'an answer is no failure')
    for (const record of attempts) {
      const labels = { route: '/', peer: record.peer.id }
      assert.is(sum(samples, 'sticky_upstream_duration_seconds_count', labels), 1)
      const seconds = sum(samples, 'sticky_upstream_duration_seconds_sum', labels)
      assert.ok(record.durationMs > 0)
      assert.ok(Math.abs(seconds - record.durationMs / 1000) < 1e-12, `${record.peer.id}: ${seconds} s for ${record.durationMs} ms`)
    }
  }),
)

Metrics('should count a retry and a failure only when the attempt says so, and observe latency in seconds', async () => {
  const metrics = createProxyMetrics(noPeers)
  const peer = { id: '10.0.0.1:8080' }
  metrics.attempt('/api', { peer, kind: 'peer-silent', retry: false, blame: true, durationMs: 250, afterHead: false })
  metrics.attempt('/api', { peer, kind: 'peer-silent', retry: true, blame: false, durationMs: 40, afterHead: false })
  metrics.attempt('/api', { peer, kind: 'client-gone', retry: false, blame: false, durationMs: -3, afterHead: false })
  const samples = await scrape(metrics)
  const labels = { route: '/api', peer: peer.id }
  assert.is(sum(samples, 'sticky_upstream_attempts_total', { ...labels, kind: 'peer-silent' }), 2)
  assert.is(sum(samples, 'sticky_upstream_attempts_total', { ...labels, kind: 'client-gone' }), 1)
  assert.is(sum(samples, 'sticky_upstream_retries_total', labels), 1)
  assert.is(sum(samples, 'sticky_upstream_failures_total', { ...labels, kind: 'peer-silent' }), 1)
  assert.is(sum(samples, 'sticky_upstream_failures_total', { ...labels, kind: 'client-gone' }), 0)
  // 250 ms is 0.25 s: in the 0.25 bucket, not the 0.1 one; a negative duration counts as 0.
  assert.is(sum(samples, 'sticky_upstream_duration_seconds_bucket', { ...labels, le: '0.005' }), 1)
  assert.is(sum(samples, 'sticky_upstream_duration_seconds_bucket', { ...labels, le: '0.05' }), 2)
  assert.is(sum(samples, 'sticky_upstream_duration_seconds_bucket', { ...labels, le: '0.1' }), 2)
  assert.is(sum(samples, 'sticky_upstream_duration_seconds_bucket', { ...labels, le: '0.25' }), 3)
  assert.ok(Math.abs(sum(samples, 'sticky_upstream_duration_seconds_sum', labels) - 0.29) < 1e-12)
})

Metrics('should hold the requests in flight: up at the start, down at the end', async () => {
  const metrics = createProxyMetrics(noPeers)
  const inFlight = async () => sum(await scrape(metrics), 'sticky_requests_in_flight')
  metrics.requestStarted()
  metrics.requestStarted()
  assert.is(await inFlight(), 2)
  metrics.requestEnded()
  assert.is(await inFlight(), 1)
  metrics.requestEnded()
  assert.is(await inFlight(), 0)
})

Metrics('should read the peers at each scrape: in flight and usable, removed peers gone', async () => {
  let readings: PeerReading[] = [
    { route: '/', peer: 'a:1', usable: true, inFlight: 3 },
    { route: '/', peer: 'b:1', usable: false, inFlight: 0 },
  ]
  const metrics = createProxyMetrics(() => readings)
  let samples = await scrape(metrics)
  assert.is(sum(samples, 'sticky_peer_in_flight', { route: '/', peer: 'a:1' }), 3)
  assert.is(sum(samples, 'sticky_peer_usable', { route: '/', peer: 'a:1' }), 1)
  assert.is(sum(samples, 'sticky_peer_usable', { route: '/', peer: 'b:1' }), 0)
  readings = [{ route: '/', peer: 'a:1', usable: true, inFlight: 0 }]
  samples = await scrape(metrics)
  assert.equal(
    samples.filter((s) => s.name.startsWith('sticky_peer_')).map((s) => [s.name, s.labels.peer, s.value]),
    [
      ['sticky_peer_in_flight', 'a:1', 0],
      ['sticky_peer_usable', 'a:1', 1],
    ],
  )
})

Metrics('should register exactly the metrics, types and labels the README table lists', async () => {
  const readme = readFileSync(new URL('../README.md', `file://${__filename}`), 'utf8')
  const section = readme.slice(readme.indexOf('**Metrics.**'), readme.indexOf("Node's default process metrics"))
  const documented = new Map<string, { type: string; labels: string[] }>()
  for (const row of section.matchAll(/^\| `(sticky_[a-z_]+)` \| (\w+) \|([^|]*)\|/gm)) {
    const labels = [...(row[3] ?? '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1] ?? '')
    documented.set(row[1] ?? '', { type: row[2] ?? '', labels: labels.sort() })
  }
  assert.ok(documented.size > 0, 'the README table was found')

  // Every series once, so that the text output shows each metric's labels.
  const metrics = createProxyMetrics(() => [{ route: '/', peer: 'a:1', usable: true, inFlight: 1 }])
  metrics.requestStarted()
  metrics.response('/', { peer: { id: 'a:1' }, outcome: 'hit', status: 200 })
  metrics.attempt('/', { peer: { id: 'a:1' }, kind: 'connect-failed', retry: true, blame: true, durationMs: 1, afterHead: false })
  const registered = new Map<string, { type: string; labels: string[] }>()
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    if (!metric.name.startsWith('sticky_')) continue
    const labels = new Set<string>()
    for (const value of metric.values) for (const key of Object.keys(value.labels)) if (key !== 'le') labels.add(key)
    registered.set(metric.name, { type: String(metric.type), labels: [...labels].sort() })
  }
  assert.equal(Object.fromEntries([...registered].sort()), Object.fromEntries([...documented].sort()))
  assert.ok(
    (await scrape(metrics)).some((s) => s.name.startsWith('nodejs_')),
    "Node's default metrics beside them",
  )
})

Metrics.run()
