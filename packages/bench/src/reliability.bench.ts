// `pnpm bench reliability`: sticky-node under a backend crash, a soak and two proxies side by side.
// Writes one block per part into docs/reliability.md (see reliability-measure.ts for what is measured).
import { spawnSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { updatePage } from './docs-file'
import { formatBytes, formatCount } from './format'
import { describeMachine, type Machine } from './machine'
import { renderTable } from './markdown'
import type { Observed, ObservedExchange } from './proxy-process'
import { FLAT_RSS_SLOPE, type Verdict } from './reliability-analysis'
import { parseReliabilityArgs, RELIABILITY_PARTS, type ReliabilityBudget, type ReliabilityPart } from './reliability-args'
import type { FailedRequest, FleetResult } from './reliability-fleet'
import {
  BACKENDS,
  KILLED_BACKEND,
  measureLoad,
  measurePair,
  measureSoak,
  REQUEST_TIMEOUT_MS,
  type LoadResult,
  type PairResult,
  type SoakResult,
} from './reliability-measure'
import { renderSection } from './subject'

/** The page the reliability bench writes. */
export const RELIABILITY_PAGE = fileURLToPath(new URL('../../../docs/reliability.md', import.meta.url))

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url))

/**
 * Which sources the proxy under test was built from: the commit, and whether sticky-node's or
 * sticky-core's sources differed from it. Empty outside a git checkout.
 */
export function describeSource(): string {
  const git = (args: string[]): string => {
    const result = spawnSync('git', args, { cwd: REPOSITORY, encoding: 'utf8' })
    return result.status === 0 ? result.stdout.trim() : ''
  }
  const head = git(['rev-parse', '--short', 'HEAD'])
  if (head === '') return ''
  const dirty = git(['status', '--porcelain', '--', 'packages/sticky-node/src', 'packages/sticky-core/src']) !== ''
  return `sticky-node and sticky-core from commit ${head}${dirty ? ', with uncommitted changes in their sources' : ''}.`
}

/** Rows of failed requests and notable proxy exchanges shown; the counts above them cover all. */
const LISTED = 20

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`
const duration = (ms: number): string => (ms % 60_000 === 0 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`)
const rate = (perSecond: number): string => `${formatCount(perSecond)} req/s`
const mib = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : 'n/a')
const slope = (bytesPerMinute: number): string =>
  Number.isFinite(bytesPerMinute) ? `${bytesPerMinute >= 0 ? '+' : ''}${(bytesPerMinute / 2 ** 20).toFixed(2)} MiB/min` : 'n/a'

/** The verdicts as a table, and a first line saying whether every target was met. */
export function renderVerdicts(verdicts: readonly Verdict[]): string[] {
  const missed = verdicts.filter((v) => !v.met)
  const summary =
    missed.length === 0 ? '**Every target met.**' : `**Target${missed.length === 1 ? '' : 's'} missed: ${missed.map((v) => v.measure).join('; ')}.**`
  const table = renderTable(
    [
      { header: 'measure', align: 'left' },
      { header: 'result', align: 'right' },
      { header: 'target', align: 'right' },
      { header: '', align: 'left' },
    ],
    verdicts.map((v) => [v.measure, v.result, v.target, v.met ? 'met' : '**missed**']),
  )
  return [summary, table]
}

/** Whether a run measured what its block claims; a broken run throws rather than writing numbers that mean nothing. */
export function loadProblem(result: LoadResult): string | undefined {
  if (result.fleet.completed === 0) return 'no request completed'
  if (result.fleet.unnamed > 0) return `${result.fleet.unnamed} responses did not name their backend`
  if (result.analysis.killedClients === 0) return `backend ${result.fault.backend} had no client when it was killed: the fault hit nobody`
  return undefined
}

export function soakProblem(result: SoakResult): string | undefined {
  if (result.fleet.completed === 0) return 'no request completed'
  if (result.analysis.measured < 2) return `${result.analysis.measured} RSS samples after the warm-up: no slope`
  return undefined
}

export function pairProblem(result: PairResult): string | undefined {
  if (result.fleet.completed === 0) return 'no request completed'
  if (result.analysis.throughBoth === 0) return 'no client was answered through both proxies'
  return undefined
}

function failuresVerdict(fleet: FleetResult): Verdict {
  const n = fleet.failures.length
  return { measure: 'failed requests (all idempotent GETs)', result: `${formatCount(n)} of ${formatCount(fleet.issued)}`, target: '0', met: n === 0 }
}

function cookieVerdict(fleet: FleetResult): Verdict {
  return {
    measure: 'responses after which the pin cookie named another backend than the one that answered',
    result: formatCount(fleet.cookieMismatches),
    target: '0',
    met: fleet.cookieMismatches === 0,
  }
}

export function loadVerdicts(result: LoadResult): Verdict[] {
  const a = result.analysis
  return [
    failuresVerdict(result.fleet),
    {
      measure: 'clients that changed backend while theirs was alive',
      result: `${formatCount(a.strayClients)} of ${formatCount(a.clients)}`,
      target: '0',
      met: a.strayClients === 0,
    },
    {
      measure: `clients of the killed backend re-pinned exactly once`,
      result: `${formatCount(a.repinnedOnce)} of ${formatCount(a.killedClients)}`,
      target: 'all',
      met: a.repinnedOnce === a.killedClients,
    },
    cookieVerdict(result.fleet),
  ]
}

export function soakVerdicts(result: SoakResult): Verdict[] {
  const a = result.analysis
  return [
    {
      measure: 'proxy RSS slope after the warm-up',
      result: slope(a.slope),
      target: `flat (at most ${slope(FLAT_RSS_SLOPE)})`,
      met: Number.isFinite(a.slope) && a.slope <= FLAT_RSS_SLOPE,
    },
    failuresVerdict(result.fleet),
    { measure: 'clients that changed backend (none failed)', result: formatCount(a.strayClients), target: '0', met: a.strayClients === 0 },
    cookieVerdict(result.fleet),
  ]
}

export function pairVerdicts(result: PairResult): Verdict[] {
  const a = result.analysis
  return [
    {
      measure: 'clients that saw two backends',
      result: `${formatCount(a.sawTwoBackends)} of ${formatCount(a.clients)}`,
      target: '0',
      met: a.sawTwoBackends === 0,
    },
    failuresVerdict(result.fleet),
    cookieVerdict(result.fleet),
  ]
}

function figures(rows: ReadonlyArray<readonly [string, string]>): string {
  return renderTable(
    [
      { header: 'figure', align: 'left' },
      { header: 'value', align: 'right' },
    ],
    rows,
  )
}

/** What the proxy's onResponse saw, by status, outcome, attempts and error, most frequent first. */
function renderTallies(observed: Observed, label = 'exchanges'): string {
  const rows = Object.entries(observed.tallies)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([key, n]) => [key, formatCount(n)])
  return renderTable(
    [
      { header: 'status, outcome, peers tried, error (onResponse)', align: 'left' },
      { header: label, align: 'right' },
    ],
    rows,
  )
}

function renderFailures(failures: readonly FailedRequest[], peers: readonly string[], killedAt: number | undefined): string[] {
  if (failures.length === 0) return []
  const rows = failures
    .slice(0, LISTED)
    .map((f) => [
      seconds(f.sentAt),
      seconds(f.at),
      killedAt === undefined ? '' : `${f.at - killedAt >= 0 ? '+' : ''}${seconds(f.at - killedAt)}`,
      String(f.client),
      f.pinned === undefined ? 'none yet' : peers[f.pinned] === undefined ? String(f.pinned) : `${f.pinned} (${peers[f.pinned]})`,
      f.status === undefined ? `no answer: ${f.error ?? '?'}` : `${f.status}${f.body === '' ? '' : ` "${f.body}"`}`,
      f.reusedSocket ? 'yes' : 'no',
    ])
  const table = renderTable(
    [
      { header: 'sent', align: 'right' },
      { header: 'failed', align: 'right' },
      ...(killedAt === undefined ? [] : [{ header: 'vs kill', align: 'right' as const }]),
      { header: 'client', align: 'right' },
      { header: 'pinned to', align: 'left' },
      { header: 'status or error', align: 'left' },
      { header: 'kept-alive connection', align: 'left' },
    ],
    killedAt === undefined ? rows.map((r) => [...r.slice(0, 2), ...r.slice(3)]) : rows,
  )
  const more = failures.length > LISTED ? ` (the first ${LISTED} of ${formatCount(failures.length)})` : ''
  return [`Failed requests, as the clients saw them${more}; times from the start of the load:`, table]
}

function renderNotable(observed: Observed, startedAt: number, killedAt: number | undefined, onlyFailed: boolean): string[] {
  const list = observed.notable.filter((e) => !onlyFailed || e.status < 200 || e.status > 299 || e.error !== undefined)
  if (list.length === 0) return []
  const row = (e: ObservedExchange): string[] => {
    const at = e.at - startedAt
    return [
      seconds(at),
      ...(killedAt === undefined ? [] : [`${at - killedAt >= 0 ? '+' : ''}${seconds(at - killedAt)}`]),
      String(e.status),
      e.outcome,
      String(e.attempts),
      e.peer ?? '-',
      e.error ?? '',
      `${e.durationMs.toFixed(1)} ms`,
    ]
  }
  const table = renderTable(
    [
      { header: 'ended', align: 'right' },
      ...(killedAt === undefined ? [] : [{ header: 'vs kill', align: 'right' as const }]),
      { header: 'status', align: 'right' },
      { header: 'outcome', align: 'left' },
      { header: 'peers tried', align: 'right' },
      { header: 'last peer', align: 'left' },
      { header: 'error', align: 'left' },
      { header: 'duration', align: 'right' },
    ],
    list.slice(0, LISTED).map(row),
  )
  const all = observed.notable.length + observed.notableDropped
  const kept = observed.notableDropped > 0 ? `; the proxy kept the first ${formatCount(observed.notable.length)} of ${formatCount(all)}` : ''
  const what = onlyFailed
    ? 'Exchanges the proxy ended with an error status or an error'
    : 'Exchanges that needed more than one peer or ended with an error (onResponse)'
  return [`${what}${list.length > LISTED ? `, the first ${LISTED} of ${formatCount(list.length)}` : ''}${kept}:`, table]
}

/** Complete responses in each whole second from `from` to `to` (ms since start), as `12 s: 3 100`. */
function secondsLine(perSecond: readonly number[], from: number, to: number): string {
  const first = Math.max(0, Math.floor(from / 1000))
  const last = Math.min(perSecond.length - 1, Math.floor(to / 1000))
  const parts: string[] = []
  for (let s = first; s <= last; s++) parts.push(`${s}–${s + 1} s: ${formatCount(perSecond[s] ?? 0)}`)
  return parts.join(', ')
}

function method(budget: ReliabilityBudget, machine: Machine, what: string, source = describeSource()): string {
  return (
    `${what} Clients: ${formatCount(budget.clients)} concurrent closed-loop browsers in the bench's own process, each with its own ` +
    'cookie jar and its own keep-alive connection (`http.Agent` with `keepAlive`, one socket), sending idempotent `GET /` ' +
    `(a request is failed when it gets no complete 2xx answer, or none within ${REQUEST_TIMEOUT_MS / 1000} s of silence). The proxy is ` +
    '`createStickyProxy({ peers })` with its defaults (`max_fails` 1, `fail_timeout` 10 s, retries on every other peer, keep-alive ' +
    'upstream) and an `onResponse` tally, behind `http.createServer`, in a process of its own; each backend is a `node:http` server in ' +
    `a process of its own; all on 127.0.0.1, ephemeral ports. Clients, proxy and backends share the machine's ${machine.cores} cores, ` +
    'which also run other work: rates are for orientation, not comparison.' +
    (source === '' ? '' : ` ${source.charAt(0).toUpperCase()}${source.slice(1)}`)
  )
}

export function renderLoad(result: LoadResult, machine: Machine, source: string = describeSource()): string {
  const { fleet, fault, analysis: a, budget, peers } = result
  const killed = `${fault.backend} (${peers[fault.backend]})`
  const figs = figures([
    ['requests sent / completed', `${formatCount(fleet.issued)} / ${formatCount(fleet.completed)}`],
    ['throughput over the run', rate(a.throughput)],
    ['clients answered / per backend at the kill', `${formatCount(a.clients)} / ${a.pinnedAtKill.map(formatCount).join(' · ')}`],
    [
      `killed backend's clients by backend changes after the kill`,
      a.repins.map(([changes, n]) => `${changes === 1 ? '1 change' : `${changes} changes`}: ${formatCount(n)}`).join(', ') || 'none',
    ],
    [
      `killed backend's clients moved to`,
      a.movedTo
        .map((n, i) => (i === fault.backend ? undefined : `backend ${i}: ${formatCount(n)}`))
        .filter((x) => x !== undefined)
        .join(', '),
    ],
    [
      'kill → first response from the new backend, median / max',
      a.repinDelay === undefined ? 'n/a' : `${a.repinDelay.median.toFixed(0)} ms / ${a.repinDelay.max.toFixed(0)} ms`,
    ],
    [
      `backend ${killed}`,
      `killed at ${seconds(fault.killedAt)}, started again at ${seconds(fault.restartedAt)}, listening at ${seconds(fault.listeningAt)}` +
        (fault.restartTries > 1 ? ` (${fault.restartTries} tries)` : ''),
    ],
    ['completed responses per backend', fleet.served.map((n, i) => `${i}: ${formatCount(n)}`).join(', ')],
    ['exchanges seen by the proxy', formatCount(result.proxy.total)],
  ])
  const timeline = `Complete responses per second around the fault: ${secondsLine(fleet.perSecond, fault.killedAt - 3_000, fault.listeningAt + 3_000)}.`
  const strays =
    a.strayChanges.length === 0
      ? []
      : [
          `Changes of backend while the client's backend was alive (the first ${Math.min(LISTED, a.strayChanges.length)} of ${a.strayChanges.length}): ` +
            a.strayChanges
              .slice(0, LISTED)
              .map((c) => `client ${c.client} ${c.from} → ${c.to} at ${seconds(c.at)}`)
              .join('; ') +
            '.',
        ]
  return renderSection({
    title: 'Load with a fault',
    machine,
    method: method(
      budget,
      machine,
      `${duration(budget.loadMs)} of load through one sticky-node process in front of ${BACKENDS} backends; at the middle backend ${KILLED_BACKEND} is killed with ` +
        `SIGKILL (its sockets closed by the kernel, in-flight requests lost) and started again on the same port ${duration(budget.downMs)} later.`,
      source,
    ),
    body: [
      ...renderVerdicts(loadVerdicts(result)),
      figs,
      timeline,
      ...strays,
      ...renderFailures(fleet.failures, peers, fault.killedAt),
      renderTallies(result.proxy),
      ...renderNotable(result.proxy, fleet.startedAt, fault.killedAt, false),
    ],
  })
}

export function renderSoak(result: SoakResult, machine: Machine, source: string = describeSource()): string {
  const { fleet, analysis: a, budget, samples } = result
  const step = Math.max(budget.rssSampleMs, Math.round(budget.soakMs / 10))
  const marks: string[] = []
  for (let t = 0; t <= budget.soakMs; t += step) {
    const sample = samples.find((s) => s.at >= t) ?? samples.at(-1)
    if (sample !== undefined) marks.push(`${seconds(sample.at)}: ${mib(sample.rss)}`)
  }
  const figs = figures([
    ['proxy RSS idle, after two collections', mib(result.idle.rss)],
    [
      `proxy RSS after the ${duration(budget.warmupMs)} warm-up`,
      a.afterWarmup === undefined ? 'n/a' : `${mib(a.afterWarmup.rss)} (at ${seconds(a.afterWarmup.at)})`,
    ],
    ['proxy RSS at the end', a.end === undefined ? 'n/a' : `${mib(a.end.rss)} (at ${seconds(a.end.at)})`],
    ['proxy RSS after the warm-up, min / max', `${mib(a.min)} / ${mib(a.max)}`],
    ['slope after the warm-up: all / first half / second half', `${slope(a.slope)} / ${slope(a.slopeFirstHalf)} / ${slope(a.slopeSecondHalf)}`],
    ['proxy heap after two collections, idle → after the soak', `${formatBytes(result.idle.heapUsed)} → ${formatBytes(result.after.heapUsed)}`],
    ['proxy RSS after two collections, after the soak', mib(result.after.rss)],
    ['requests sent / completed', `${formatCount(fleet.issued)} / ${formatCount(fleet.completed)}`],
    ['throughput over the run', rate(a.throughput)],
    ['browser sessions', formatCount(fleet.sessions.length)],
    ['RSS samples (all / after the warm-up)', `${formatCount(samples.length)} / ${formatCount(a.measured)}`],
  ])
  return renderSection({
    title: 'Soak',
    machine,
    method: method(
      budget,
      machine,
      `${duration(budget.soakMs)} of steady load through one sticky-node process in front of ${BACKENDS} backends, the proxy's RSS read from ` +
        `\`/proc/<pid>/status\` (VmRSS) every ${duration(budget.rssSampleMs)}; the slope is a least-squares fit over the samples after a ` +
        `${duration(budget.warmupMs)} warm-up. Browsers come and go: each leaves after ${budget.soakSessionRequests} requests (closing its connection) and ` +
        'a new one, without a cookie, takes its place, so the proxy keeps opening connections and pinning clients.',
      source,
    ),
    body: [
      ...renderVerdicts(soakVerdicts(result)),
      figs,
      `Proxy RSS over the run: ${marks.join(', ')}.`,
      ...renderFailures(fleet.failures, [], undefined),
      renderTallies(result.proxy),
      ...renderNotable(result.proxy, fleet.startedAt, undefined, true),
    ],
  })
}

export function renderPair(result: PairResult, machine: Machine, source: string = describeSource()): string {
  const { fleet, analysis: a, budget } = result
  const figs = figures([
    ['browser sessions answered / through both proxies', `${formatCount(a.clients)} / ${formatCount(a.throughBoth)}`],
    ['pin cookies set by proxy A / B', a.pinnedVia.map(formatCount).join(' / ')],
    ['complete responses via proxy A / B', fleet.perOrigin.map(formatCount).join(' / ')],
    ['complete responses per backend', fleet.served.map((n, i) => `${i}: ${formatCount(n)}`).join(', ')],
    ['requests sent / completed', `${formatCount(fleet.issued)} / ${formatCount(fleet.completed)}`],
    ['throughput over the run (both proxies)', rate(a.throughput)],
  ])
  const tallies = result.proxies.flatMap((p, i) => [`Proxy ${i === 0 ? 'A' : 'B'}:`, renderTallies(p)])
  return renderSection({
    title: 'Two proxies',
    machine,
    method: method(
      budget,
      machine,
      `${duration(budget.pairMs)} of load through two sticky-node processes built from the same options (the same peers in the same order) ` +
        `in front of the same ${BACKENDS} backends. Each browser alternates its requests between the two (half of them start with each), ` +
        `and leaves after ${budget.pairSessionRequests} requests for a new browser without a cookie: a pin set by one proxy must hold at the other.`,
      source,
    ),
    body: [...renderVerdicts(pairVerdicts(result)), figs, ...renderFailures(fleet.failures, [], undefined), ...tallies],
  })
}

/** Runs one part and returns its block; throws when the run did not measure what the block would claim. */
async function runPart(part: ReliabilityPart, budget: ReliabilityBudget, log: (line: string) => void): Promise<string> {
  const block = await measurePart(part, budget, log)
  // The machine is shared: say how busy it was at the end too, not only at the start.
  return `${block}\n\nOne-minute load average at the end of the part: ${(loadavg()[0] ?? Number.NaN).toFixed(2)}.`
}

async function measurePart(part: ReliabilityPart, budget: ReliabilityBudget, log: (line: string) => void): Promise<string> {
  const machine = describeMachine()
  // Read before the run: the sources may move while it lasts, the proxy under test does not.
  const source = describeSource()
  if (part === 'load') {
    const result = await measureLoad(budget, log)
    const problem = loadProblem(result)
    if (problem !== undefined) throw new Error(`load: ${problem}`)
    return renderLoad(result, machine, source)
  }
  if (part === 'soak') {
    const result = await measureSoak(budget, log)
    const problem = soakProblem(result)
    if (problem !== undefined) throw new Error(`soak: ${problem}`)
    return renderSoak(result, machine, source)
  }
  const result = await measurePair(budget, log)
  const problem = pairProblem(result)
  if (problem !== undefined) throw new Error(`pair: ${problem}`)
  return renderPair(result, machine, source)
}

/**
 * `reliability [load|soak|pair ...] [--load D] [--down D] [--soak D] [--warmup D] [--pair D] [--clients N] [--quick] [--no-write]`:
 * runs the parts and, unless told not to, replaces their blocks in `page` (the others are kept).
 * Returns the blocks by part.
 */
export async function runReliability(
  args: readonly string[],
  options: { readonly env?: Readonly<Record<string, string | undefined>>; readonly log: (line: string) => void; readonly page?: string },
): Promise<Map<string, string>> {
  const request = parseReliabilityArgs(args, options.env ?? {})
  const log = options.log
  const page = options.page ?? RELIABILITY_PAGE
  const b = request.budget
  log(
    `reliability: ${request.parts.join(', ')}${request.quick ? ' (quick)' : ''}; ${b.clients} clients, load ${duration(b.loadMs)} (down ${duration(b.downMs)}), ` +
      `soak ${duration(b.soakMs)} (warm-up ${duration(b.warmupMs)}), pair ${duration(b.pairMs)}`,
  )
  const blocks = new Map<string, string>()
  for (const part of request.parts) {
    log(`== reliability ${part}`)
    const started = performance.now()
    const block = await runPart(part, b, log)
    blocks.set(part, block)
    log(`\n${block}\n\n(${part}: ${((performance.now() - started) / 1000).toFixed(1)} s)\n`)
  }
  if (!request.write) return blocks
  const text = await readFile(page, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return ''
    throw error
  })
  await writeFile(page, updatePage(text, blocks, RELIABILITY_PARTS))
  log(`wrote ${blocks.size} block(s) to ${page}`)
  return blocks
}
