// `pnpm bench proxies`: sticky-node and sticky-fastify side by side with what users would run instead
// (nginx, HAProxy, Caddy, a bare node:http proxy, http-proxy, reply-from), on the same nginx backends,
// loaded by wrk. Writes its block of docs/benchmarks.md and docs/benchmarks-proxies.svg.
import { spawnSync } from 'node:child_process'
import { formatPlural } from './format'
import { describeMachine } from './machine'
import {
  hasProgram,
  measureProxies,
  NATIVE,
  SCALED,
  staleStickyProxy,
  SUBJECTS,
  WORKLOADS,
  type ProxiesBudget,
  type ProxySubject,
  type SubjectResult,
} from './proxies-measure'
import { chartOf, renderFloors, renderScaling, renderWorkload } from './proxies-report'
import { renderSection } from './subject'
import { renderBarChart } from './svg-chart'

/**
 * About 12 minutes on two cores: 5 rounds of 3 s per subject and workload after a 1 s reheat, 17 subjects with
 * the two-worker rows (4 s runs took 16 minutes with the starts, the quiet waits and the anchors' install on a
 * busy machine). The first round's reheat is the only warm-up. At 10 000 requests per second, 3 s are 30 000
 * requests per run, and the median of five interleaved rounds is what the report reads.
 */
export const FULL_PROXIES_BUDGET: ProxiesBudget = { connections: 64, rounds: 5, seconds: 3, warmupSeconds: 0, reheatSeconds: 1 }
/** Proves the comparison runs and checks what it says; the numbers mean nothing. */
export const QUICK_PROXIES_BUDGET: ProxiesBudget = { connections: 16, rounds: 1, seconds: 1, warmupSeconds: 1, reheatSeconds: 1 }

/** The Debian packages of the programs the comparison runs. */
const PACKAGES = ['nginx', 'haproxy', 'caddy', 'wrk'] as const

/** What `pnpm bench proxies` was asked. */
export interface ProxiesRequest {
  readonly quick: boolean
  readonly write: boolean
  /** 1: one worker each; 2: also the anchors, sticky-node and the bare proxy with two workers, reported as scaling. */
  readonly workers: 1 | 2
  /** Only these proxies (`--only bare,sticky-node`), for quick checks; all when undefined. */
  readonly only: readonly string[] | undefined
  readonly install: boolean
}

/**
 * Reads `proxies [--quick] [--no-write] [--workers 1|2] [--only kind,kind] [--no-install]`.
 * @throws RangeError naming an unknown argument or value.
 */
export function parseProxiesArgs(args: readonly string[]): ProxiesRequest {
  let quick = false
  let write = true
  let workers: 1 | 2 = 2
  let only: string[] | undefined
  let install = true
  const kinds = SUBJECTS.map((s) => s.kind as string)
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--' || arg === 'proxies') continue
    if (arg === '--quick') quick = true
    else if (arg === '--no-write') write = false
    else if (arg === '--no-install') install = false
    else if (arg === '--workers') {
      const value = args[++i]
      if (value !== '1' && value !== '2') throw new RangeError(`--workers takes 1 or 2, not ${JSON.stringify(value)}`)
      workers = value === '1' ? 1 : 2
    } else if (arg === '--only') {
      only = (args[++i] ?? '').split(',')
      const unknown = only.find((k) => !kinds.includes(k))
      if (unknown !== undefined) throw new RangeError(`--only: unknown proxy ${JSON.stringify(unknown)} (expected ${kinds.join(', ')})`)
    } else
      throw new RangeError(`unknown argument ${JSON.stringify(arg)} for proxies: expected --quick, --no-write, --no-install, --workers 1|2 or --only <kinds>`)
  }
  return { quick, write: write && !quick && only === undefined, workers, only, install }
}

/**
 * Installs the missing programs from Debian when this process may (root, apt-get present). Returns
 * why it could not, or undefined when nothing was missing or the install ran.
 */
export function installAnchors(log: (line: string) => void): string | undefined {
  const missing = PACKAGES.filter((p) => !hasProgram(p))
  if (missing.length === 0) return undefined
  if (process.getuid?.() !== 0) return `${missing.join(', ')} missing, and installing them needs root (apt-get install -y ${missing.join(' ')})`
  if (!hasProgram('apt-get')) return `${missing.join(', ')} missing, and there is no apt-get to install them`
  log(`installing ${missing.join(', ')} from Debian`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  const install = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env })
  return install.status === 0 ? undefined : `apt-get install ${missing.join(' ')} failed (${String(install.status)})`
}

/** The subjects to run: every one whose programs are here, and those of {@link SCALED} again with two workers. */
export function chooseSubjects(request: ProxiesRequest, available: (program: string) => boolean): { subjects: ProxySubject[]; left: string[] } {
  const left: string[] = []
  const chosen = SUBJECTS.filter((s) => request.only === undefined || request.only.includes(s.kind)).filter((s) => {
    const program = NATIVE[s.kind]
    if (program === undefined || available(program)) return true
    left.push(`${s.label} (no ${program})`)
    return false
  })
  const doubled = request.workers === 2 ? chosen.filter((s) => SCALED.includes(s.kind)).map((s) => ({ ...s, workers: 2 })) : []
  return { subjects: [...chosen, ...doubled], left }
}

/** The chart of requests per CPU-second, hit and new client, one-worker subjects. */
export function proxiesChart(results: readonly SubjectResult[]): string {
  const { categories, hit, fresh } = chartOf(results)
  return renderBarChart({
    title: 'Requests per CPU-second of the proxy process (median of rounds; longer is cheaper)',
    unit: 'req/CPU-s',
    categories,
    series: [
      { name: 'cookie hit', color: '#3b6ea5', values: hit },
      { name: 'new client', color: '#e39b3b', values: fresh },
    ],
  })
}

/** The block of docs/benchmarks.md. */
export function renderProxiesBlock(results: readonly SubjectResult[], budget: ProxiesBudget, notes: readonly string[], chartFile: string): string {
  const machine = describeMachine()
  const scaling = renderScaling(results, WORKLOADS)
  const floors = renderFloors(results, WORKLOADS)
  const body = [
    `![Requests per CPU-second of each proxy](${chartFile})`,
    '**Cookie hit** (a valid pin cookie on every request):',
    renderWorkload(results, 'hit'),
    '**New client** (no cookie):',
    renderWorkload(results, 'new'),
    ...(floors === undefined
      ? []
      : [
          '**Against its floor** (per-round ratios of the proxy to what it adds its work to; above 1.00× is cheaper for requests per CPU-second, slower for p99):',
          floors,
        ]),
    ...(scaling === undefined
      ? []
      : [
          '**Scaling from one worker to two** (`sticky-proxy --workers 2`, the bare proxy under node:cluster; the load generator shares the same two cores):',
          scaling,
        ]),
    ...notes,
  ]
  return renderSection({
    title: 'proxies',
    machine,
    method:
      `wrk -t1 -c${budget.connections}, ${formatPlural(budget.rounds, 'interleaved round')} of ${budget.seconds} s per proxy and workload` +
      `${[
        ...(budget.warmupSeconds > 0 ? [`a ${budget.warmupSeconds} s warm-up per workload`] : []),
        ...(budget.reheatSeconds > 0
          ? [`${budget.reheatSeconds} s of cookie hits before each proxy's turn in every round (unmeasured: a proxy idle while the others ran starts warm)`]
          : []),
      ]
        .map((part, i) => (i === 0 ? ` after ${part}` : ` and ${part}`))
        .join('')}, all on 127.0.0.1; behind every proxy the same three nginx backends (\`return 200\`, one worker each). ` +
      'Every proxy runs one process or worker with keep-alive upstream connections. sticky-node is the built `sticky-proxy` command ' +
      '(its defaults, `--quiet`: no access log, as nginx runs here with `access_log off`; it generates an X-Request-Id per request); ' +
      'the other Node proxies run from built JavaScript in their own processes; sticky-fetch on node:http sits behind a plain ' +
      "Request/Response adapter with Node's fetch upstream, beside the same adapter doing only `fetch(url, request)` round robin; the two Workers run in workerd itself (the `workerd` package, one " +
      'config per Worker, sticky-fetch configured by its STICKY_PEERS binding), the pass-through Worker doing only ' +
      '`fetch(url, request)` round robin. nginx has no `sticky` module in Debian: its ' +
      'anchor is a `map` from the cookie to a one-server upstream, round robin otherwise, and a `Set-Cookie` naming the server ' +
      'that answered a new client; HAProxy uses `cookie SERVERID insert indirect nocache`, Caddy `lb_policy cookie`. The bare ' +
      'node:http proxy, http-proxy and reply-from alone balance round robin and ignore the cookie. Requests per CPU-second ' +
      "divide wrk's completed requests by the user + system CPU time of the proxy's process tree (from /proc), the figure " +
      'that stays steady on a shared machine. Each cell: median over rounds (range in brackets); ratios are taken per round ' +
      '(against the bare proxy and nginx in the same round), then their median and range. RSS: the process tree after the ' +
      'last round. Check: no failed request ' +
      "(wrk's non-2xx and socket errors), every cookie-hit run of a proxy with affinity reached one backend only (counted " +
      "by the backends' stub_status), every new-client run reached all three; a failed check is shown, not hidden.",
    body,
  })
}

/** The tiny-budget or full run, without writing: the block, the chart, and what was left out. */
export async function runProxiesBench(
  request: ProxiesRequest,
  log: (line: string) => void,
): Promise<{ block: string; svg: string; results: SubjectResult[] } | { skipped: string }> {
  const cannot = request.install ? installAnchors(log) : undefined
  for (const needed of ['nginx', 'wrk'])
    if (!hasProgram(needed)) return { skipped: `proxies: skipped, ${needed} is not installed${cannot === undefined ? '' : ` (${cannot})`}` }
  const { subjects, left } = chooseSubjects(request, hasProgram)
  const notes: string[] = []
  if (left.length > 0) notes.push(`Left out, not installed: ${left.join(', ')}.`)
  const stale = subjects.some((s) => s.kind === 'sticky-node') ? staleStickyProxy() : undefined
  if (stale !== undefined) {
    log(`warning: ${stale}`)
    notes.push(`Warning: ${stale}.`)
  }
  const budget = request.quick ? QUICK_PROXIES_BUDGET : FULL_PROXIES_BUDGET
  const results = await measureProxies(subjects, budget, log)
  const chartFile = 'benchmarks-proxies.svg'
  return { block: renderProxiesBlock(results, budget, notes, chartFile), svg: proxiesChart(results), results }
}
