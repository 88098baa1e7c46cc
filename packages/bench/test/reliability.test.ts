// Runs the reliability bench for real with tiny budgets (about two seconds a part) and checks that it
// measures what it says. No figure is held to a target here: targets live in the bench's output.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readBlocks } from '../src/docs-file'
import { formatCount } from '../src/format'
import { describeMachine } from '../src/machine'
import type { Observed } from '../src/proxy-process'
import { QUICK_RELIABILITY_BUDGET, type ReliabilityBudget } from '../src/reliability-args'
import type { FleetResult } from '../src/reliability-fleet'
import { BACKENDS, KILLED_BACKEND, measureLoad, measurePair, measureSoak } from '../src/reliability-measure'
import { loadProblem, pairProblem, renderLoad, renderPair, renderSoak, runReliability, soakProblem } from '../src/reliability.bench'

const TINY: ReliabilityBudget = { ...QUICK_RELIABILITY_BUDGET, clients: 12, loadMs: 2_000, downMs: 500, soakMs: 2_000, warmupMs: 500, pairMs: 1_500 }

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0)

/** The counts a fleet keeps agree with each other, and with what the proxies saw. */
function assertConsistent(fleet: FleetResult, proxies: readonly Observed[], budget: ReliabilityBudget, durationMs: number): void {
  assert.ok(fleet.completed > 0)
  assert.is(fleet.issued, fleet.completed + fleet.failures.length)
  assert.is(sum(fleet.perSecond), fleet.completed)
  assert.is(sum(fleet.perOrigin), fleet.completed)
  assert.is(sum(fleet.served) + fleet.unnamed, fleet.completed)
  assert.is(fleet.unnamed, 0)
  assert.is(sum(fleet.sessions.map((s) => s.requests)), fleet.issued)
  assert.ok(fleet.sessions.length >= budget.clients)
  assert.ok(fleet.elapsedMs >= durationMs, `${fleet.elapsedMs} ms`)
  // Every request reached a proxy and every exchange ended there.
  assert.is(sum(proxies.map((p) => p.total)), fleet.issued)
  for (const p of proxies) assert.is(sum(Object.values(p.tallies)), p.total)
  for (const f of fleet.failures) {
    assert.ok((f.status === undefined) !== (f.error === undefined), JSON.stringify(f))
    assert.ok(f.sentAt <= f.at)
  }
  // A session's changes chain from its first backend to its last.
  for (const s of fleet.sessions) {
    let backend = s.first
    for (const c of s.changes) {
      assert.is(c.from, backend)
      assert.is.not(c.to, c.from)
      backend = c.to
    }
    assert.is(s.last, backend)
  }
}

/** Browsers without a cookie start as `new` at the proxy: one such exchange per session that got an answer. */
function newExchanges(observed: Observed): number {
  return sum(
    Object.entries(observed.tallies)
      .filter(([key]) => key.split(' ')[1] === 'new')
      .map(([, n]) => n),
  )
}

const live = suite('reliability, measured with tiny budgets')

live('load with a fault: the killed backend had clients, each of them was re-pinned to a live backend, and the counts agree', async () => {
  const lines: string[] = []
  const result = await measureLoad(TINY, (line) => lines.push(line))
  const { fleet, fault, analysis: a } = result
  assertConsistent(fleet, [result.proxy], TINY, TINY.loadMs)
  assert.is(fleet.sessions.length, TINY.clients)
  assert.is(result.peers.length, BACKENDS)

  assert.is(fault.backend, KILLED_BACKEND)
  assert.ok(fault.killedAt >= TINY.loadMs / 2 - 50 && fault.killedAt < TINY.loadMs, String(fault.killedAt))
  // The restart timer is set before the kill is timed, so it may fire a little under downMs after it.
  assert.ok(fault.restartedAt - fault.killedAt >= TINY.downMs * 0.9, JSON.stringify(fault))
  assert.ok(fault.listeningAt >= fault.restartedAt)
  assert.ok(
    lines.some((l) => l.includes('killed backend 1 (SIGKILL)')),
    lines.join('\n'),
  )

  assert.is(loadProblem(result), undefined)
  assert.is(a.clients, TINY.clients)
  assert.ok(a.killedClients > 0)
  assert.is(a.pinnedAtKill[KILLED_BACKEND], a.killedClients)
  assert.ok(sum(a.pinnedAtKill) <= a.clients)
  assert.is(sum(a.repins.map(([, n]) => n)), a.killedClients)
  // Re-pinned: every client of the dead backend moved to a live one.
  assert.ok(
    a.repins.every(([changes]) => changes >= 1),
    JSON.stringify(a.repins),
  )
  assert.is(a.movedTo[KILLED_BACKEND], 0)
  assert.is(sum(a.movedTo), a.killedClients)
  assert.ok(a.repinDelay !== undefined && a.repinDelay.max >= a.repinDelay.median && a.repinDelay.median >= 0)
  // The proxy saw the dead backend: some exchange was re-pinned there.
  assert.ok(
    Object.keys(result.proxy.tallies).some((k) => k.includes(' repinned ')),
    JSON.stringify(result.proxy.tallies),
  )
  assert.is(newExchanges(result.proxy), TINY.clients)

  const block = renderLoad(result, describeMachine())
  assert.ok(block.startsWith('### Load with a fault\n\nMeasured '), block)
  assert.match(
    block,
    new RegExp(
      `\\| failed requests \\(all idempotent GETs\\) \\| ${formatCount(fleet.failures.length)} of ${formatCount(fleet.issued)} \\| 0 \\| (met|\\*\\*missed\\*\\*) \\|`,
    ),
  )
  assert.match(
    block,
    new RegExp(`\\| clients of the killed backend re-pinned exactly once \\| ${formatCount(a.repinnedOnce)} of ${formatCount(a.killedClients)} \\| all \\|`),
  )
  assert.match(block, /Complete responses per second around the fault: /)
  assert.not.match(block, /<!-- bench:/)
})

live('soak: RSS is sampled through the run, browsers come and go, and the counts agree', async () => {
  const result = await measureSoak(TINY, () => undefined)
  const { fleet, samples, analysis: a } = result
  assertConsistent(fleet, [result.proxy], TINY, TINY.soakMs)
  assert.is(soakProblem(result), undefined)
  assert.ok(samples.length >= 3, String(samples.length))
  assert.ok(samples.every((s, i) => s.rss > 0 && (i === 0 || s.at > samples[i - 1]!.at)))
  assert.ok(samples[0]!.at < TINY.rssSampleMs)
  assert.ok(a.measured >= 2 && a.measured < samples.length)
  assert.ok(a.afterWarmup !== undefined && a.afterWarmup.at >= TINY.warmupMs)
  assert.is(a.end, samples.at(-1))
  assert.ok(a.min <= a.max && Number.isFinite(a.slope))
  assert.ok(result.idle.rss > 0 && result.after.heapUsed > 0)
  // Sessions end after soakSessionRequests: more browsers than clients, each pinned by the proxy as new.
  assert.ok(fleet.sessions.length > TINY.clients, String(fleet.sessions.length))
  assert.ok(fleet.sessions.every((s) => s.requests <= TINY.soakSessionRequests))
  assert.is(newExchanges(result.proxy), fleet.sessions.filter((s) => s.first !== undefined).length)

  const block = renderSoak(result, describeMachine())
  assert.ok(block.startsWith('### Soak\n\nMeasured '), block)
  assert.match(block, /\| proxy RSS slope after the warm-up \| [+-][\d.]+ MiB\/min \| flat/)
  assert.match(block, /Proxy RSS over the run: [\d.]+ s: [\d.]+ MiB/)
})

live('two proxies: browsers alternate between them, pins are made by both, and the counts agree', async () => {
  const result = await measurePair(TINY, () => undefined)
  const { fleet, analysis: a } = result
  assert.is(result.proxies.length, 2)
  assertConsistent(fleet, result.proxies, TINY, TINY.pairMs)
  assert.is(pairProblem(result), undefined)
  assert.ok(
    fleet.perOrigin.every((n) => n > 0),
    fleet.perOrigin.join('/'),
  )
  assert.ok(result.proxies.every((p) => p.total > 0))
  assert.ok(a.throughBoth > 0 && a.throughBoth <= a.clients)
  assert.ok(
    a.pinnedVia.every((n) => n > 0),
    a.pinnedVia.join('/'),
  )
  assert.is(sum(a.pinnedVia), a.clients)
  assert.is(sum(result.proxies.map(newExchanges)), a.clients)
  // A session alternates: its requests through the two proxies differ by one at most.
  for (const s of fleet.sessions) assert.ok(Math.abs(s.perOrigin[0]! - s.perOrigin[1]!) <= 1, s.perOrigin.join('/'))

  const block = renderPair(result, describeMachine())
  assert.ok(block.startsWith('### Two proxies\n\nMeasured '), block)
  assert.match(block, new RegExp(`\\| clients that saw two backends \\| ${formatCount(a.sawTwoBackends)} of ${formatCount(a.clients)} \\| 0 \\|`))
  assert.match(block, /Proxy A:[\s\S]*Proxy B:/)
})

live.run()

const page = suite('runReliability')

page('should replace its own block of the page and keep the rest', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reliability-'))
  try {
    const file = join(dir, 'reliability.md')
    const before = [
      '# Reliability\n\nWritten by hand.\n\n<!-- bench:begin (generated) -->',
      '<!-- bench:load:begin -->\nold load\n<!-- bench:load:end -->\n',
      '<!-- bench:pair:begin -->\nold pair\n<!-- bench:pair:end -->',
      '<!-- bench:end -->\n\nAfter.\n',
    ].join('\n')
    await writeFile(file, before)
    const lines: string[] = []
    const blocks = await runReliability(['reliability', 'pair', '--pair', '500ms', '--clients', '4'], { log: (l) => lines.push(l), page: file, env: {} })
    assert.equal([...blocks.keys()], ['pair'])
    const after = await readFile(file, 'utf8')
    assert.ok(after.startsWith('# Reliability\n\nWritten by hand.\n\n'))
    assert.ok(after.endsWith('<!-- bench:end -->\n\nAfter.\n'))
    const written = readBlocks(after)
    assert.equal([...written.keys()], ['load', 'pair'])
    assert.is(written.get('load'), 'old load')
    assert.ok(written.get('pair')!.startsWith('### Two proxies\n\nMeasured '))
    assert.match(written.get('pair')!, /500 ms of load through two sticky-node processes/)
    assert.match(written.get('pair')!, /One-minute load average at the end of the part: [\d.]+\.$/)
    assert.ok(lines.some((l) => l.startsWith('wrote 1 block(s) to ')))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

page('should leave the page alone with --no-write, and refuse unknown arguments before running anything', async () => {
  const missing = join(tmpdir(), 'reliability-never-written.md')
  await runReliability(['reliability', 'http'], { log: () => undefined, page: missing }).then(
    () => assert.unreachable('an unknown argument was accepted'),
    (error: unknown) => assert.match(String(error), /unknown argument "http"/),
  )
  const blocks = await runReliability(['reliability', 'pair', '--pair', '300ms', '--clients', '2', '--no-write'], { log: () => undefined, page: missing })
  assert.is(blocks.size, 1)
  await readFile(missing, 'utf8').then(
    () => assert.unreachable('the page was written'),
    (error: NodeJS.ErrnoException) => assert.is(error.code, 'ENOENT'),
  )
})

page.run()
