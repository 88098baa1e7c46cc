// The proxy comparison, run end to end with tiny budgets (bare proxy and sticky-node; the anchors when
// installed), and its pure parts: /proc parsing, wrk's result line, the checks, the report, the chart.
import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { caddyfile, haproxyConfig, nginxProxyConfig } from '../src/anchor-configs'
import { cpuSeconds, parseProcStat, processTree, type ProcStat } from '../src/proc-stat'
import { hasProgram, measureProxies, parseStubStatus, runProblem, stickyProxyArgs, SUBJECTS, type ProxyRun, type SubjectResult } from '../src/proxies-measure'
import { chooseSubjects, parseProxiesArgs, proxiesChart, QUICK_PROXIES_BUDGET, renderProxiesBlock } from '../src/proxies.bench'
import { renderFloors, renderWorkload, roundRatios, spreadOf } from '../src/proxies-report'
import { escapeXml, renderBarChart } from '../src/svg-chart'
import { passThroughWorker, stickyPeers, workerdConfig } from '../src/workerd-subject'
import { parseWrkOutput, RESULT_PREFIX, wrkScript, type WrkResult } from '../src/wrk'
import { fcParams } from './_fc'

/** Tags of an SVG document balance and nothing but tags, text and escapes appears: a small well-formedness check. */
function assertWellFormed(svg: string): void {
  const stack: string[] = []
  const tag = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<&]*(?:&(?:amp|lt|gt|quot);[^"<&]*)*")*)\s*(\/?)>/y
  let text = ''
  for (let i = 0; i < svg.length; ) {
    if (svg[i] === '<') {
      tag.lastIndex = i
      const m = tag.exec(svg)
      assert.ok(m !== null, `malformed tag at ${i}: ${svg.slice(i, i + 60)}`)
      if (m[1] === '/') assert.is(stack.pop(), m[2])
      else if (m[4] !== '/') stack.push(m[2]!)
      i = tag.lastIndex
    } else {
      text += svg[i]
      i++
    }
  }
  assert.equal(stack, [])
  assert.not.match(text.replace(/&(amp|lt|gt|quot);/g, ''), /[&<>]/)
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'))
}

const end = suite('measureProxies')

end('should measure the bare proxy and sticky-node with wrk, pinned hits on one backend, ratios finite, a well-formed chart', async () => {
  if (!hasProgram('nginx') || !hasProgram('wrk')) {
    console.log('  proxies end to end: NOT RUN, nginx or wrk is not installed (pnpm bench proxies installs them)')
    return
  }
  const subjects = SUBJECTS.filter((s) => s.kind === 'bare' || s.kind === 'sticky-node')
  const results = await measureProxies(subjects, QUICK_PROXIES_BUDGET, () => undefined)
  assert.equal(
    results.map((r) => r.subject.kind),
    ['bare', 'sticky-node'],
  )
  for (const r of results) {
    for (const run of [...r.runs.hit, ...r.runs.new]) {
      assert.is(run.problem, undefined, r.subject.label)
      assert.ok(run.load.requests > 0 && run.cpuSeconds > 0, r.subject.label)
      assert.ok(run.spread.reduce((a, b) => a + b, 0) >= run.load.requests)
    }
    assert.ok(r.rssAfter > 0)
  }
  const sticky = results[1]!
  for (const run of sticky.runs.hit) assert.is(run.spread.filter((n) => n > 0).length, 1, run.spread.join('/'))
  for (const run of sticky.runs.new) assert.is(run.spread.filter((n) => n > 0).length, 3, run.spread.join('/'))
  const hit = renderWorkload(results, 'hit')
  const row = hit.split('\n').find((l) => l.startsWith('| sticky-node (sticky-proxy) |'))!
  const cells = row.slice(2, -2).split(' | ')
  assert.match(cells[2]!, /^\d+\.\d+×$/, 'req/s × bare is finite')
  assert.match(cells[8]!, /^\d+\.\d+×$/, 'req per CPU-s × bare is finite')
  assert.is(cells[3], 'n/a', 'no nginx anchor ran')
  assert.is(cells[11], 'ok')
  assertWellFormed(proxiesChart(results))
})

end('should measure sticky-fetch in workerd beside the pass-through Worker, and on node:http, pins held, against their floors', async () => {
  if (!hasProgram('nginx') || !hasProgram('wrk')) {
    console.log('  proxies sticky-fetch: NOT RUN, nginx or wrk is not installed (pnpm bench proxies installs them)')
    return
  }
  const kinds = ['fetch-node', 'sticky-fetch-node', 'workerd-pass', 'sticky-fetch-workerd']
  const subjects = SUBJECTS.filter((s) => kinds.includes(s.kind))
  const results = await measureProxies(subjects, QUICK_PROXIES_BUDGET, () => undefined)
  assert.equal(
    results.map((r) => r.subject.kind),
    kinds,
  )
  for (const r of results) {
    for (const run of [...r.runs.hit, ...r.runs.new]) {
      assert.is(run.problem, undefined, r.subject.label)
      assert.ok(run.load.requests > 0 && run.cpuSeconds > 0, r.subject.label)
    }
    assert.ok(r.rssAfter > 0, r.subject.label)
  }
  // The Worker's own pin: a cookie it set reaches one backend; new clients reach all three.
  const worker = results[3]!
  for (const run of worker.runs.hit) assert.is(run.spread.filter((n) => n > 0).length, 1, run.spread.join('/'))
  for (const run of worker.runs.new) assert.is(run.spread.filter((n) => n > 0).length, 3, run.spread.join('/'))
  const floors = renderFloors(results, ['hit', 'new'])!.split('\n').slice(2)
  assert.is(floors.length, 2)
  assert.match(floors[0]!, /^\| sticky-fetch on node:http \| node:http \+ fetch, pass-through \| \d+\.\d+× \|/)
  assert.match(floors[1]!, /^\| sticky-fetch in workerd \| workerd, pass-through Worker \| \d+\.\d+× \|/)
})

end('should run sticky-proxy --workers 2 and the bare proxy under node:cluster, and report their scaling', async () => {
  if (!hasProgram('nginx') || !hasProgram('wrk')) {
    console.log('  proxies two workers: NOT RUN, nginx or wrk is not installed (pnpm bench proxies installs them)')
    return
  }
  const { subjects } = chooseSubjects(parseProxiesArgs(['proxies', '--only', 'bare,sticky-node']), () => true)
  const results = await measureProxies(subjects, QUICK_PROXIES_BUDGET, () => undefined)
  assert.equal(
    results.map((r) => `${r.subject.kind}×${r.subject.workers}`),
    ['bare×1', 'sticky-node×1', 'bare×2', 'sticky-node×2'],
  )
  for (const r of results) for (const run of [...r.runs.hit, ...r.runs.new]) assert.is(run.problem, undefined, `${r.subject.label} ×${r.subject.workers}`)
  // Both workers hold the same pin: a cookie hit reaches one backend whichever worker took the connection.
  for (const run of results[3]!.runs.hit) assert.is(run.spread.filter((n) => n > 0).length, 1, run.spread.join('/'))
  // A primary and two workers: the process tree holds more than one Node.
  assert.ok(results[3]!.rssAfter > results[1]!.rssAfter)
  const block = renderProxiesBlock(results, QUICK_PROXIES_BUDGET, [], 'c.svg')
  assert.match(block, /\| sticky-node \(sticky-proxy\), 2 workers \| [\d ]+ \| \d+\.\d+× \| \d+\.\d+× \|/)
  assert.match(block, /\| bare node:http proxy, 2 workers \| [\d ]+ \| \d+\.\d+× \| \d+\.\d+× \|/)
})

end('should run the anchors when they are installed, their pins held', async () => {
  const missing = ['nginx', 'haproxy', 'caddy', 'wrk'].filter((p) => !hasProgram(p))
  if (missing.length > 0) {
    console.log(`  proxies anchors: NOT RUN, ${missing.join(', ')} not installed (pnpm bench proxies installs them)`)
    return
  }
  const subjects = SUBJECTS.filter((s) => s.kind === 'nginx' || s.kind === 'haproxy' || s.kind === 'caddy')
  const results = await measureProxies(subjects, QUICK_PROXIES_BUDGET, () => undefined)
  for (const r of results) {
    for (const run of [...r.runs.hit, ...r.runs.new]) assert.is(run.problem, undefined, r.subject.label)
    for (const run of r.runs.hit) assert.is(run.spread.filter((n) => n > 0).length, 1, `${r.subject.label} ${run.spread.join('/')}`)
  }
  const block = renderProxiesBlock(results, QUICK_PROXIES_BUDGET, [], 'chart.svg')
  assert.match(block, /\| nginx, cookie map \| [\d ]+ \| n\/a \| 1\.00× \|/)
})

end.run()

const proc = suite('proc-stat')

const statLine = (pid: number, name: string, ppid: number, utime: number, stime: number): string =>
  `${pid} (${name}) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 100 1000 100 0`

proc('should read pid, ppid, utime and stime past a command name holding spaces and parentheses', () => {
  fc.assert(
    fc.property(fc.nat(1e7), fc.string({ maxLength: 15 }), fc.nat(1e7), fc.nat(1e9), fc.nat(1e9), (pid, name, ppid, utime, stime) => {
      assert.equal(parseProcStat(statLine(pid, name, ppid, utime, stime)), { pid, ppid, utime, stime })
    }),
    fcParams(),
  )
  assert.equal(parseProcStat(statLine(7, 'nginx: worker) (x', 1, 3, 4)), { pid: 7, ppid: 1, utime: 3, stime: 4 })
  assert.throws(() => parseProcStat('garbage'), RangeError)
})

proc('should take a process and its descendants only, and sum their ticks', () => {
  const stats: ProcStat[] = [
    { pid: 1, ppid: 0, utime: 1000, stime: 1000 },
    { pid: 10, ppid: 1, utime: 50, stime: 25 },
    { pid: 11, ppid: 10, utime: 100, stime: 0 },
    { pid: 12, ppid: 11, utime: 0, stime: 100 },
    { pid: 20, ppid: 1, utime: 7, stime: 7 },
  ]
  assert.equal(
    processTree(stats, 10).map((s) => s.pid),
    [10, 11, 12],
  )
  assert.is(cpuSeconds(processTree(stats, 10)), 2.75)
  assert.equal(processTree(stats, 99), [])
})

proc.run()

const wrk = suite('wrk')

wrk('should embed any cookie in the Lua script so that it cannot close the string', () => {
  fc.assert(
    fc.property(fc.string(), (cookie) => {
      const script = wrkScript(cookie)
      const m = /^wrk\.headers\["Cookie"\] = \[(=*)\[([\s\S]*)\]\1\]\n/.exec(script)
      assert.ok(m !== null)
      assert.is(m[2], cookie)
      assert.not.ok(cookie.includes(`]${m[1]}]`))
    }),
    fcParams(),
  )
  assert.not.match(wrkScript(undefined), /Cookie/)
})

wrk("should read the script's result line out of wrk's report, in milliseconds and per second", () => {
  const output = `Running 1s test\n  1 threads\n${RESULT_PREFIX}{"requests":5000,"us":2000000,"p50":800,"p99":12500,"status":3,"socket":2}\n`
  assert.equal(parseWrkOutput(output), { requests: 5000, seconds: 2, requestsPerSecond: 2500, p50: 0.8, p99: 12.5, non2xx: 3, socketErrors: 2 })
  assert.throws(() => parseWrkOutput('unable to connect'), /no result line/)
})

wrk.run()

const checks = suite('runProblem')

const loadOf = (requests: number, non2xx = 0, socketErrors = 0): WrkResult => ({
  requests,
  seconds: 1,
  requestsPerSecond: requests,
  p50: 1,
  p99: 2,
  non2xx,
  socketErrors,
})

checks('should accept a held pin and spread new clients, and name every failure', () => {
  assert.is(runProblem(true, 'hit', 1, loadOf(100), [0, 101, 0]), undefined)
  assert.is(runProblem(true, 'new', 1, loadOf(90), [30, 30, 30]), undefined)
  assert.is(runProblem(false, 'hit', undefined, loadOf(90), [30, 30, 30]), undefined)
  assert.match(runProblem(true, 'hit', 1, loadOf(100), [1, 99, 0])!, /pin not held \(1\/99\/0\)/)
  assert.match(runProblem(true, 'hit', undefined, loadOf(100), [0, 100, 0])!, /pin not held/)
  assert.match(runProblem(true, 'new', 0, loadOf(90), [90, 0, 0])!, /new clients not spread/)
  assert.match(runProblem(false, 'new', undefined, loadOf(90, 1), [30, 30, 30])!, /1 non-2xx/)
  assert.match(runProblem(false, 'new', undefined, loadOf(90, 0, 4), [30, 30, 30])!, /4 socket errors/)
  assert.match(runProblem(false, 'new', undefined, loadOf(90), [30, 30, 20])!, /backends saw 80 of 90/)
  assert.match(runProblem(false, 'new', undefined, loadOf(0), [0, 0, 0])!, /no request completed/)
})

checks('should read the requests counter of a stub_status page', () => {
  const page = 'Active connections: 1 \nserver accepts handled requests\n 12 12 345 \nReading: 0 Writing: 1 Waiting: 0 \n'
  assert.is(parseStubStatus(page), 345)
  assert.throws(() => parseStubStatus('<html>'), RangeError)
})

checks.run()

const report = suite('proxies report')

function runOf(rps: number, cpu: number, p99 = 1): ProxyRun {
  return { load: { ...loadOf(rps), p99 }, cpuSeconds: cpu, spread: [rps, 0, 0], problem: undefined }
}

function resultOf(kind: (typeof SUBJECTS)[number]['kind'], rates: readonly number[], problem?: string): SubjectResult {
  const subject = SUBJECTS.find((s) => s.kind === kind)!
  const runs = rates.map((r, i) => ({ ...runOf(r, 1), problem: i === 0 ? problem : undefined }))
  return { subject, runs: { hit: runs, new: runs }, rssAfter: 2 ** 20 }
}

report('should take per-round ratios and report their median and range', () => {
  assert.equal(roundRatios([10, 30, 20], [10, 10, 10]), { median: 2, min: 1, max: 3 })
  assert.ok(Number.isNaN(spreadOf([]).median))
  assert.ok(Number.isNaN(roundRatios([1], [0]).median))
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.double({ min: 1, max: 1e6, noNaN: true }), fc.double({ min: 0.1, max: 10, noNaN: true })), { minLength: 1, maxLength: 7 }),
      (rounds) => {
        // A round that is slower for both alike moves neither the median nor the range of the ratio.
        const base = rounds.map(([b]) => b)
        const value = rounds.map(([b], i) => b * 1.5 * (i + 1) ** 0)
        const s = roundRatios(
          value.map((v, i) => v * rounds[i]![1]),
          base.map((b, i) => b * rounds[i]![1]),
        )
        assert.ok(Math.abs(s.median - 1.5) < 1e-9 && Math.abs(s.min - 1.5) < 1e-9 && Math.abs(s.max - 1.5) < 1e-9)
        const any = spreadOf(rounds.map(([b]) => b))
        assert.ok(any.min <= any.median && any.median <= any.max)
      },
    ),
    fcParams(),
  )
})

report('should show every subject against the bare proxy and nginx, and mark a failed check without hiding the row', () => {
  const table = renderWorkload([resultOf('nginx', [100, 200]), resultOf('bare', [50, 50]), resultOf('sticky-node', [25, 100], 'pin not held (1/2/0)')], 'hit')
  const rows = table.split('\n').slice(2)
  assert.is(rows.length, 3)
  assert.ok(rows[1]!.startsWith('| bare node:http proxy | 50 | 1.00× | 0.38× (0.25–0.50) |'), rows[1])
  assert.ok(rows[2]!.startsWith('| sticky-node (sticky-proxy) | 63 (25–100) | 1.25× (0.50–2.00) | 0.38× (0.25–0.50) |'), rows[2])
  assert.ok(rows[2]!.endsWith('| FAILED: pin not held (1/2/0) |'), rows[2])
})

report('should compare each proxy with its floor only when the floor ran beside it', () => {
  assert.is(renderFloors([resultOf('sticky-node', [10])], ['hit']), undefined)
  const rows = renderFloors([resultOf('bare', [100, 50]), resultOf('sticky-node', [50, 50]), resultOf('nginx', [1, 1])], ['hit', 'new'])!
    .split('\n')
    .slice(2)
  assert.equal(rows, ['| sticky-node (sticky-proxy) | bare node:http proxy | 0.75× (0.50–1.00) | 1.00× | 0.75× (0.50–1.00) | 1.00× | 1.00× |'])
})

report('should render the whole block with scaling rows for the two-worker anchors', () => {
  const two = { ...resultOf('nginx', [150, 300]), subject: { ...SUBJECTS[0]!, workers: 2 } }
  const block = renderProxiesBlock([resultOf('nginx', [100, 200]), resultOf('bare', [50, 50]), two], QUICK_PROXIES_BUDGET, ['A note.'], 'c.svg')
  assert.match(block, /^### proxies\n\nMeasured /)
  assert.match(block, /\| nginx, cookie map, 2 workers \| 225 \(150–300\) \| 1\.50× \| 1\.50× \|/)
  assert.match(block, /A note\.$/)
})

report.run()

const chart = suite('renderBarChart')

chart('should be well-formed for any labels and values, one bar per value, scaled to the largest', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.oneof(fc.double({ min: 0, max: 1e7, noNaN: true }), fc.constant(Number.NaN))), {
        minLength: 1,
        maxLength: 10,
      }),
      fc.string({ maxLength: 30 }),
      (rows, title) => {
        const svg = renderBarChart({
          title,
          unit: 'u<&>',
          categories: rows.map(([c]) => c),
          series: [{ name: 'a"b', color: '#123456', values: rows.map(([, v]) => v) }],
        })
        assertWellFormed(svg)
        // The title is the SVG's accessible name (screen readers, tooltips), escaped like every text.
        assert.ok(svg.includes(`<title>${escapeXml(title)}</title>`), 'the chart names itself')
        const widths = [...svg.matchAll(/<rect x="230" y="\d+" width="(\d+\.\d)" height="12"/g)].map((m) => Number(m[1]))
        assert.is(widths.length, rows.length)
        const finite = rows.map(([, v]) => v).filter(Number.isFinite)
        if (finite.length > 0 && Math.max(...finite) > 0) assert.ok(Math.abs(Math.max(...widths) - 400) < 0.1)
      },
    ),
    fcParams(),
  )
  assert.is(escapeXml('<a & "b">'), '&lt;a &amp; &quot;b&quot;&gt;')
  assert.throws(() => renderBarChart({ title: '', unit: '', categories: ['a'], series: [{ name: 's', color: '#000', values: [] }] }), RangeError)
})

chart.run()

const args = suite('parseProxiesArgs')

args('should read the options, write only for a full run of every proxy, and refuse the unknown', () => {
  assert.equal(parseProxiesArgs(['proxies']), { quick: false, write: true, workers: 2, only: undefined, install: true })
  assert.equal(parseProxiesArgs(['--', 'proxies', '--workers', '1', '--only', 'bare,sticky-node', '--no-install']), {
    quick: false,
    write: false,
    workers: 1,
    only: ['bare', 'sticky-node'],
    install: false,
  })
  assert.is(parseProxiesArgs(['proxies', '--quick']).write, false)
  assert.throws(() => parseProxiesArgs(['proxies', '--workers', '3']), /--workers takes 1 or 2/)
  assert.throws(() => parseProxiesArgs(['proxies', '--only', 'squid']), /unknown proxy "squid"/)
  assert.throws(() => parseProxiesArgs(['proxies', '--fast']), /unknown argument "--fast"/)
})

args('should leave out anchors that are not installed and double the anchors, sticky-node and the bare proxy', () => {
  const none = chooseSubjects(parseProxiesArgs(['proxies']), () => false)
  assert.equal(
    none.subjects.map((s) => s.kind),
    [
      'bare',
      'http-proxy',
      'reply-from',
      'sticky-node',
      'sticky-fastify',
      'fetch-node',
      'sticky-fetch-node',
      'workerd-pass',
      'sticky-fetch-workerd',
      'bare',
      'sticky-node',
    ],
  )
  assert.is(none.left.length, 3)
  const all = chooseSubjects(parseProxiesArgs(['proxies']), () => true)
  assert.equal(
    all.subjects.filter((s) => s.workers === 2).map((s) => s.kind),
    ['nginx', 'haproxy', 'caddy', 'bare', 'sticky-node'],
  )
  assert.is(chooseSubjects(parseProxiesArgs(['proxies', '--workers', '1']), () => true).subjects.length, SUBJECTS.length)
})

args.run()

// Configurations: the values a subject's checks rely on are in them.
const configs = suite('anchor configurations')

configs('should keep connections alive upstream and pin by cookie', () => {
  const nginx = nginxProxyConfig(8080, [1, 2, 3], { name: 'route', values: ['a', 'b', 'c'] }, 2, { dir: '/d' })
  assert.match(nginx, /worker_processes 2;/)
  assert.match(nginx, /upstream all \{ server 127\.0\.0\.1:1; server 127\.0\.0\.1:2; server 127\.0\.0\.1:3; keepalive 64; \}/)
  assert.match(nginx, /"b" pin1;/)
  assert.match(nginx, /"127\.0\.0\.1:3" "route=c; Path=\/";/)
  const haproxy = haproxyConfig(8080, [1, 2, 3], 2)
  assert.match(haproxy, /nbthread 2/)
  assert.match(haproxy, /cookie SERVERID insert indirect nocache/)
  assert.match(haproxy, /server s2 127\.0\.0\.1:3 cookie s2/)
  assert.match(caddyfile(8080, [1, 2]), /reverse_proxy 127\.0\.0\.1:1 127\.0\.0\.1:2 \{\n\s+lb_policy cookie/)
})

configs('should serve one Worker on loopback with text bindings that cannot break out of their strings', () => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 40 })),
      fc.integer({ min: 1, max: 65535 }),
      (bindings, port) => {
        const config = workerdConfig(port, bindings)
        assert.match(config, new RegExp(`address = "127\\.0\\.0\\.1:${port}"`))
        const texts = [...config.matchAll(/\(name = ("(?:[^"\\]|\\.)*"), text = ("(?:[^"\\]|\\.)*")\)/g)].map((m) => [JSON.parse(m[1]!), JSON.parse(m[2]!)])
        assert.equal(texts, Object.entries(bindings))
      },
    ),
    fcParams(),
  )
  const config = workerdConfig(8080, { STICKY_PEERS: stickyPeers([1, 2]) })
  assert.match(config, /\(name = "STICKY_PEERS", text = "127\.0\.0\.1:1, 127\.0\.0\.1:2"\)/)
  assert.match(config, /globalOutbound = "loopback"/)
  assert.match(config, /network = \(allow = \["local"/)
  assert.match(passThroughWorker([1, 2]), /const hosts = \["127\.0\.0\.1:1","127\.0\.0\.1:2"\]/)
})

configs('should run sticky-proxy with its defaults, quiet, on the backends, and with --workers only above one', () => {
  assert.equal(stickyProxyArgs(8080, [1, 2], 1), ['--listen', '127.0.0.1:8080', '--upstream', '127.0.0.1:1', '--upstream', '127.0.0.1:2', '--quiet'])
  assert.equal(stickyProxyArgs(8080, [1], 2).slice(-2), ['--workers', '2'])
})

configs.run()
