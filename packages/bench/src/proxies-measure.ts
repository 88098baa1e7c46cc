import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { get } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { createBalancer } from 'sticky-core'
import { BACKEND_HEADER, caddyfile, COUNT_PATH, haproxyConfig, nginxBackendConfig, nginxProxyConfig } from './anchor-configs'
import { startChild, type Child } from './ipc'
import { readTree, treeCpuSeconds, treeRss } from './proc-stat'
import { passThroughWorker, stickyFetchWorker, stickyPeers, WORKER_MODULE, workerdBinary, workerdConfig } from './workerd-subject'
import { runWrk, type WrkResult } from './wrk'

/** The proxies the comparison knows: three native anchors, the Node proxies and the two Workers in workerd. */
export type ProxyKind =
  | 'nginx'
  | 'haproxy'
  | 'caddy'
  | 'bare'
  | 'http-proxy'
  | 'reply-from'
  | 'sticky-node'
  | 'sticky-fastify'
  | 'fetch-node'
  | 'sticky-fetch-node'
  | 'workerd-pass'
  | 'sticky-fetch-workerd'

/** The two workloads: a valid pin cookie on every request, or none. */
export type Workload = 'hit' | 'new'
export const WORKLOADS: readonly Workload[] = ['hit', 'new']

/** One proxy as the comparison runs it. */
export interface ProxySubject {
  readonly kind: ProxyKind
  readonly label: string
  /** Processes (nginx), threads (HAProxy) or GOMAXPROCS (Caddy). */
  readonly workers: number
  /** Keeps a client on one backend by cookie: its hit runs must reach one backend only. */
  readonly sticky: boolean
  /** What this proxy adds its work to, for the "against its floor" table (reply-from under sticky-fastify). */
  readonly floor?: ProxyKind
}

/** Every proxy, one worker each, in the order of the report. */
export const SUBJECTS: readonly ProxySubject[] = [
  { kind: 'nginx', label: 'nginx, cookie map', workers: 1, sticky: true },
  { kind: 'haproxy', label: 'HAProxy, cookie insert', workers: 1, sticky: true },
  { kind: 'caddy', label: 'Caddy, lb_policy cookie', workers: 1, sticky: true },
  { kind: 'bare', label: 'bare node:http proxy', workers: 1, sticky: false },
  { kind: 'http-proxy', label: 'http-proxy', workers: 1, sticky: false },
  { kind: 'reply-from', label: 'Fastify + @fastify/reply-from', workers: 1, sticky: false },
  { kind: 'sticky-node', label: 'sticky-node (sticky-proxy)', workers: 1, sticky: true, floor: 'bare' },
  { kind: 'sticky-fastify', label: 'sticky-fastify', workers: 1, sticky: true, floor: 'reply-from' },
  { kind: 'fetch-node', label: 'node:http + fetch, pass-through', workers: 1, sticky: false },
  { kind: 'sticky-fetch-node', label: 'sticky-fetch on node:http', workers: 1, sticky: true, floor: 'fetch-node' },
  { kind: 'workerd-pass', label: 'workerd, pass-through Worker', workers: 1, sticky: false },
  { kind: 'sticky-fetch-workerd', label: 'sticky-fetch in workerd', workers: 1, sticky: true, floor: 'workerd-pass' },
]

/** The proxies the comparison also runs with two workers: the anchors, sticky-proxy --workers 2 and the bare proxy under node:cluster. */
export const SCALED: readonly ProxyKind[] = ['nginx', 'haproxy', 'caddy', 'bare', 'sticky-node']

/** The native programs each anchor needs (the backends need nginx, the load wrk). */
export const NATIVE: Readonly<Partial<Record<ProxyKind, string>>> = { nginx: 'nginx', haproxy: 'haproxy', caddy: 'caddy' }

/** How hard and how long to push. */
export interface ProxiesBudget {
  readonly connections: number
  readonly rounds: number
  readonly seconds: number
  /** Load of each workload once before the first round, not measured; 0 for none (the reheats warm each proxy then). */
  readonly warmupSeconds: number
  /**
   * Cookie-hit load before each proxy's measured runs in every round, not measured: a proxy that sat idle
   * while the others ran (V8 may have dropped compiled code, idle upstream connections closed) is warm
   * again, so the first workload of a round does not carry the restart for all the others.
   */
  readonly reheatSeconds: number
}

/** One wrk run against one proxy, with what the proxy and the backends did meanwhile. */
export interface ProxyRun {
  readonly load: WrkResult
  /** CPU seconds (user + kernel) of the proxy's process tree during the run. */
  readonly cpuSeconds: number
  /** Requests per backend during the run. */
  readonly spread: readonly number[]
  /** What was wrong with the run (failed requests, a pin that did not hold), or undefined. */
  readonly problem: string | undefined
}

/** A proxy's runs, per workload in round order, and its resident memory after the last round. */
export interface SubjectResult {
  readonly subject: ProxySubject
  readonly runs: Readonly<Record<Workload, readonly ProxyRun[]>>
  /** Bytes, summed over the process tree. */
  readonly rssAfter: number
}

/** A proxy that is running: where it listens and how to stop it. */
interface Running {
  readonly subject: ProxySubject
  readonly port: number
  readonly pid: number
  /** The cookie its hit runs send, and the backend that cookie names (undefined for proxies without affinity). */
  readonly pin: { readonly cookie: string; readonly backend: number | undefined }
  stop(): Promise<void>
}

const NODE_ENTRY = new URL('./proxies-subject.ts', import.meta.url)
/**
 * Where the Node subjects are bundled to: inside this package, so that their imports resolve to its
 * dependencies; one file per benchmark process (a test run and a bench may build at once), removed at exit.
 */
const NODE_BUNDLE = new URL(`../node_modules/.cache/sticky-bench/proxies-subject-${process.pid}.mjs`, import.meta.url)
/** The built `sticky-proxy` command. */
const STICKY_PROXY_CLI = new URL('../node_modules/sticky-node/dist/cli.js', import.meta.url)
const READY_TIMEOUT_MS = 20_000

/**
 * The Node subjects as one plain ES module (this package's files bundled, the proxies imported from their
 * builds), so that they run without the TypeScript loader: it would add its own memory (about 120 MiB
 * with its caches) and CPU to every Node row. Built once per process.
 */
function nodeSubjectBundle(): Promise<URL> {
  bundling ??= (async () => {
    await mkdir(fileURLToPath(new URL('.', NODE_BUNDLE)), { recursive: true })
    await build({
      entryPoints: [fileURLToPath(NODE_ENTRY)],
      outfile: fileURLToPath(NODE_BUNDLE),
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
    })
    process.once('exit', () => rmSync(NODE_BUNDLE, { force: true }))
    return NODE_BUNDLE
  })()
  return bundling
}

let bundling: Promise<URL> | undefined

/**
 * Why the built `sticky-proxy` may not be what its sources say (a source file newer than the build), or
 * undefined: the comparison runs the build, so an edit is measured only after `pnpm build`.
 */
export function staleStickyProxy(): string | undefined {
  const cli = fileURLToPath(STICKY_PROXY_CLI)
  if (!existsSync(cli)) return 'sticky-node is not built: run pnpm build'
  const src = fileURLToPath(new URL('../src/', STICKY_PROXY_CLI))
  const built = statSync(cli).mtimeMs
  const newer = readdirSync(src).filter((f) => statSync(join(src, f)).mtimeMs > built)
  return newer.length === 0
    ? undefined
    : `sticky-node's build is older than src/${newer[0]}${newer.length > 1 ? ` and ${newer.length - 1} more` : ''}: run pnpm build to measure the sources`
}

/** The `sticky-proxy` command line of the comparison: its defaults, no access log, `workers` processes. */
export function stickyProxyArgs(port: number, backends: readonly number[], workers: number): string[] {
  return [
    '--listen',
    `127.0.0.1:${port}`,
    ...backends.flatMap((p) => ['--upstream', `127.0.0.1:${p}`]),
    '--quiet',
    ...(workers > 1 ? ['--workers', String(workers)] : []),
  ]
}

/** Whether a program is on the PATH. */
export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0
}

/**
 * What a pinned or new-client run did wrong, or undefined: a failed request; a hit that reached any
 * backend but the pinned one; a new-client run that did not reach every backend (it would not be new
 * clients being balanced); backends that saw fewer requests than wrk completed.
 */
export function runProblem(sticky: boolean, workload: Workload, pinned: number | undefined, load: WrkResult, spread: readonly number[]): string | undefined {
  const problems: string[] = []
  if (load.non2xx > 0) problems.push(`${load.non2xx} non-2xx`)
  if (load.socketErrors > 0) problems.push(`${load.socketErrors} socket errors`)
  if (load.requests === 0) problems.push('no request completed')
  const total = spread.reduce((a, b) => a + b, 0)
  if (total < load.requests) problems.push(`backends saw ${total} of ${load.requests} requests`)
  if (sticky && workload === 'hit') {
    const others = spread.filter((n, i) => i !== pinned && n > 0).length
    if (pinned === undefined || others > 0) problems.push(`pin not held (${spread.join('/')})`)
  }
  if (workload === 'new' && load.requests >= spread.length * 10 && spread.some((n) => n === 0)) problems.push(`new clients not spread (${spread.join('/')})`)
  return problems.length === 0 ? undefined : problems.join(', ')
}

/**
 * The `requests` counter of an nginx `stub_status` page ("server accepts handled requests" then three
 * numbers).
 * @throws RangeError for another page.
 */
export function parseStubStatus(page: string): number {
  const match = /server accepts handled requests\s*\n\s*(\d+)\s+(\d+)\s+(\d+)/.exec(page)
  if (match === null) throw new RangeError(`not a stub_status page: ${JSON.stringify(page.slice(0, 200))}`)
  return Number(match[3])
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

function fetchOnce(port: number, path: string, cookie?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, headers: cookie === undefined ? {} : { cookie }, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.setTimeout(5_000, () => req.destroy(new Error('timed out')))
  })
}

async function waitForPort(port: number, what: string, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    try {
      await fetchOnce(port, '/')
      return
    } catch (error) {
      if (!alive()) throw new Error(`${what} exited before listening on ${port}`)
      if (Date.now() > deadline) throw new Error(`${what} not listening on ${port} after ${READY_TIMEOUT_MS} ms: ${String(error)}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

/** Native processes still running, killed when this process exits however it does. */
const natives = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of natives) child.kill('SIGKILL')
})

async function startNative(
  what: string,
  command: string,
  args: readonly string[],
  port: number,
  dir: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ pid: number; stop(): Promise<void> }> {
  const child = spawn(command, [...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env }, cwd: dir })
  natives.add(child)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4_000) stderr += chunk.toString()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.once('error', () => undefined)
  const stop = async (): Promise<void> => {
    // nginx's master forks its workers: whatever is left of the tree once the master is gone is killed too.
    const tree = child.pid === undefined ? [] : await readTree(child.pid)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
    await exited
    clearTimeout(timer)
    natives.delete(child)
    for (const p of tree.slice(1)) {
      try {
        process.kill(p.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  try {
    await waitForPort(port, what, () => child.exitCode === null && child.signalCode === null)
  } catch (error) {
    await stop()
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${stderr}`)
  }
  return { pid: child.pid ?? 0, stop }
}

/** The three nginx backends: their ports, their request counters, and how to stop them. */
interface Backends {
  readonly ports: readonly number[]
  counts(): Promise<number[]>
  stop(): Promise<void>
}

const BACKENDS = 3
const SETTLE_MS = 50

async function startBackends(root: string): Promise<Backends> {
  const started: { pid: number; stop(): Promise<void> }[] = []
  const ports: number[] = []
  try {
    for (let i = 0; i < BACKENDS; i++) {
      const dir = await mkdtemp(join(root, `backend${i}-`))
      const port = await freePort()
      await writeFile(join(dir, 'nginx.conf'), nginxBackendConfig(i, port, { dir }))
      started.push(await startNative(`backend ${i}`, 'nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], port, dir))
      ports.push(port)
    }
  } catch (error) {
    for (const s of started) await s.stop()
    throw error
  }
  // Each reading of a counter is itself a request to that backend: it is taken off the next reading.
  const read = (): Promise<number[]> => Promise.all(ports.map(async (p) => parseStubStatus((await fetchOnce(p, COUNT_PATH)).body)))
  let last = await read()
  return {
    ports,
    async counts(): Promise<number[]> {
      // Requests a proxy still had in flight when wrk stopped land late: wait until a reading moves only by itself.
      let now = await read()
      let reads = 1
      for (let settled = false; !settled; reads++) {
        await new Promise((r) => setTimeout(r, SETTLE_MS))
        const again = await read()
        settled = again.every((n, i) => n - now[i]! === 1)
        now = again
      }
      const spread = now.map((n, i) => n - last[i]! - reads)
      last = now
      return spread
    },
    async stop(): Promise<void> {
      for (const s of started) await s.stop()
    },
  }
}

/** The pin cookie the sticky-node balancer gives backend 0, sent by the hit runs of proxies without affinity. */
function defaultPin(ports: readonly number[]): string {
  const balancer = createBalancer({ peers: ports.map((p) => `127.0.0.1:${p}`) })
  return `route=${balancer.cookieValue(balancer.peers[0]!)}`
}

/** Asks a new client's question and takes the cookie the proxy set and the backend that answered. */
async function discoverPin(port: number, subject: ProxySubject, fallback: string): Promise<Running['pin']> {
  const answer = await fetchOnce(port, '/')
  if (answer.status !== 200) throw new Error(`${subject.label}: answered ${answer.status} to a first request`)
  const backend = Number(answer.headers[BACKEND_HEADER])
  if (!subject.sticky) return { cookie: fallback, backend: undefined }
  const setCookie = answer.headers['set-cookie']?.[0]
  if (setCookie === undefined) throw new Error(`${subject.label}: no Set-Cookie on a new client's answer`)
  return { cookie: setCookie.split(';')[0]!.trim(), backend: Number.isInteger(backend) ? backend : undefined }
}

async function startSubject(subject: ProxySubject, ports: readonly number[], root: string, fallback: string): Promise<Running> {
  let started: { pid: number; port: number; stop(): Promise<void> }
  if (subject.kind === 'nginx' || subject.kind === 'haproxy' || subject.kind === 'caddy') {
    const dir = await mkdtemp(join(root, `${subject.kind}${subject.workers}-`))
    const port = await freePort()
    const what = `${subject.label} (${subject.workers})`
    if (subject.kind === 'nginx') {
      // The anchor pins with the same cookie values as sticky-node, so a cookie of either names the same backend.
      const balancer = createBalancer({ peers: ports.map((p) => `127.0.0.1:${p}`) })
      const cookie = { name: 'route', values: balancer.peers.map((p) => balancer.cookieValue(p)) }
      await writeFile(join(dir, 'nginx.conf'), nginxProxyConfig(port, ports, cookie, subject.workers, { dir }))
      started = { port, ...(await startNative(what, 'nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], port, dir)) }
    } else if (subject.kind === 'haproxy') {
      await writeFile(join(dir, 'haproxy.cfg'), haproxyConfig(port, ports, subject.workers))
      started = { port, ...(await startNative(what, 'haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], port, dir)) }
    } else {
      await writeFile(join(dir, 'Caddyfile'), caddyfile(port, ports))
      const env = { GOMAXPROCS: String(subject.workers), HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir }
      started = { port, ...(await startNative(what, 'caddy', ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], port, dir, env)) }
    }
  } else if (subject.kind === 'sticky-node') {
    // The command users run, from its build: what its RSS and CPU show is the proxy's and Node's alone.
    const cli = fileURLToPath(STICKY_PROXY_CLI)
    if (!existsSync(cli)) throw new Error('sticky-node is not built (pnpm build): the comparison runs the sticky-proxy command')
    const dir = await mkdtemp(join(root, `sticky-node${subject.workers}-`))
    const port = await freePort()
    const args = [cli, ...stickyProxyArgs(port, ports, subject.workers)]
    started = { port, ...(await startNative(`${subject.label} (${subject.workers})`, process.execPath, args, port, dir)) }
  } else if (subject.kind === 'workerd-pass' || subject.kind === 'sticky-fetch-workerd') {
    const dir = await mkdtemp(join(root, `${subject.kind}-`))
    const port = await freePort()
    const sticky = subject.kind === 'sticky-fetch-workerd'
    await writeFile(join(dir, WORKER_MODULE), sticky ? await stickyFetchWorker() : passThroughWorker(ports))
    await writeFile(join(dir, 'workerd.capnp'), workerdConfig(port, sticky ? { STICKY_PEERS: stickyPeers(ports) } : {}))
    started = { port, ...(await startNative(subject.label, workerdBinary(), ['serve', join(dir, 'workerd.capnp')], port, dir)) }
  } else {
    // Built JavaScript, never the sources under a loader, so that RSS and CPU are the proxy's (the tests too).
    const entry = await nodeSubjectBundle()
    const port = subject.workers > 1 ? await freePort() : 0
    const child: Child = await startChild(entry, [subject.kind, JSON.stringify(ports), String(subject.workers), String(port)])
    started = { pid: child.pid, port: (child.ready as { port: number }).port, stop: () => child.close() }
  }
  try {
    return { subject, port: started.port, pid: started.pid, pin: await discoverPin(started.port, subject, fallback), stop: started.stop }
  } catch (error) {
    await started.stop()
    throw error
  }
}

/** How long the backends must see nothing before a run starts. */
const QUIET_MS = 150

/** Waits until no request reaches the backends any more (at most about 4 s), and resets their counters there. */
async function settled(backends: Backends): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS))
    const seen = await backends.counts()
    if (seen.every((n) => n === 0)) return
  }
}

/**
 * Runs the comparison: three nginx backends, every subject started once, then `rounds` interleaved
 * rounds (each subject, each workload, in turn) of wrk against it. Runs that fail a check are kept
 * with their problem; only a proxy that cannot start or answer stops the benchmark.
 */
export async function measureProxies(subjects: readonly ProxySubject[], budget: ProxiesBudget, log: (line: string) => void): Promise<SubjectResult[]> {
  const root = await mkdtemp(join(tmpdir(), 'sticky-bench-proxies-'))
  const running: Running[] = []
  let backends: Backends | undefined
  try {
    backends = await startBackends(root)
    const fallback = defaultPin(backends.ports)
    for (const subject of subjects) running.push(await startSubject(subject, backends.ports, root, fallback))
    await backends.counts()
    const url = (r: Running): string => `http://127.0.0.1:${r.port}/`
    const cookieOf = (r: Running, w: Workload): string | undefined => (w === 'hit' ? r.pin.cookie : undefined)
    for (const r of running)
      if (budget.warmupSeconds > 0)
        for (const w of WORKLOADS) await runWrk({ url: url(r), connections: budget.connections, seconds: budget.warmupSeconds, cookie: cookieOf(r, w) }, root)
    await backends.counts()

    const runs = new Map<Running, Record<Workload, ProxyRun[]>>(running.map((r) => [r, { hit: [], new: [] }]))
    for (let round = 0; round < budget.rounds; round++) {
      for (const r of running) {
        if (budget.reheatSeconds > 0)
          await runWrk({ url: url(r), connections: budget.connections, seconds: budget.reheatSeconds, cookie: cookieOf(r, 'hit') }, root)
        for (const w of WORKLOADS) {
          // Requests still in flight in the proxy when wrk stopped (a queue behind a slow proxy) reach the
          // backends later: they are counted before this run starts, not in its spread.
          await settled(backends)
          const before = await treeCpuSeconds(r.pid)
          const load = await runWrk({ url: url(r), connections: budget.connections, seconds: budget.seconds, cookie: cookieOf(r, w) }, root)
          const spread = await backends.counts()
          const cpuSeconds = (await treeCpuSeconds(r.pid)) - before
          const problem = runProblem(r.subject.sticky, w, r.pin.backend, load, spread)
          runs.get(r)![w].push({ load, cpuSeconds, spread, problem })
          log(
            `  round ${round + 1}/${budget.rounds}  ${r.subject.label}${r.subject.workers > 1 ? ` ×${r.subject.workers}` : ''} ${w}: ` +
              `${load.requestsPerSecond.toFixed(0)} req/s, p99 ${load.p99.toFixed(2)} ms, ${(load.requests / cpuSeconds).toFixed(0)} req/CPU-s, ` +
              `spread ${spread.join('/')}${problem === undefined ? '' : `  ** ${problem}`}`,
          )
        }
      }
    }
    const results: SubjectResult[] = []
    for (const r of running) results.push({ subject: r.subject, runs: runs.get(r)!, rssAfter: await treeRss(r.pid) })
    return results
  } finally {
    for (const r of running) await r.stop()
    await backends?.stop()
    await rm(root, { recursive: true, force: true })
  }
}
