// `--workers N`: a primary process that forks N workers sharing one listener (node:cluster), runs the
// health checks once for all of them, relays what one worker learns about peer health to all others,
// handles the signals once for all of them, and serves the metrics of all of them.
import cluster, { type Worker } from 'node:cluster'
import { type Balancer, createBalancer } from 'sticky-core'
import { createHealthChecker, type HealthChecker } from './health-checker'
import { createRequestLog } from './log'
import { clusterCollector, listenMetrics } from './metrics'
import { errorLine, readReload, recordingConfigText, withConfigText } from './reload'
import { EXIT_FAILURE, type Runner, type RunnerIo, startRunner } from './serve'
import { parseServeFlags } from './args'
import { loadServePlan, type ServePlan } from './serve-plan'

/** What the primary and its workers tell each other (over the cluster IPC channel). */
export type ClusterMessage =
  /** Worker → primary, first thing: send me the health checks' current verdicts before I listen. */
  | { readonly sticky: 'hello' }
  /**
   * Primary → worker: the verdicts so far (the answer to `hello`, and again after a reload), and, in
   * the answer to `hello`, the config file's text in effect, from which the worker builds its plan.
   */
  | { readonly sticky: 'checks'; readonly checks: readonly CheckVerdict[]; readonly config?: string | undefined }
  /** Primary → every worker: the checks changed their verdict on one peer. */
  | ({ readonly sticky: 'check' } & CheckVerdict)
  | { readonly sticky: 'ready'; readonly notice: string }
  | { readonly sticky: 'blame'; readonly route: string; readonly peer: string }
  /** Primary → every worker: apply this config file text, which the primary read and accepted. */
  | { readonly sticky: 'reload'; readonly config?: string | undefined }
  | { readonly sticky: 'stop'; readonly signal: string; readonly now: boolean }

/** What the primary's health checks say about one peer of one route. */
export interface CheckVerdict {
  readonly route: string
  readonly peer: string
  readonly up: boolean
}

/** The checks of one route, run by the primary over a balancer that only holds the route's peers. */
interface RouteChecks {
  readonly path: string
  readonly balancer: Balancer
  readonly checker: HealthChecker
}

function isClusterMessage(message: unknown): message is ClusterMessage {
  return typeof message === 'object' && message !== null && typeof (message as { sticky?: unknown }).sticky === 'string'
}

/** True in a process that `runPrimary` forked. */
export function isWorker(): boolean {
  return cluster.isWorker
}

/**
 * The primary: forks `plan.workers` workers (each runs the same command line), prints one start-up
 * line once all of them listen, runs the health checks (one check per peer and interval, whatever the
 * number of workers) and sends each verdict to every worker, relays every blame to the other workers
 * within one IPC hop, and turns SIGHUP, SIGTERM and SIGINT into one message to each worker. A worker
 * that dies is replaced (not during shutdown); it is given the checks' verdicts before it listens.
 * Exits with the highest worker exit code once all have exited.
 */
export function runPrimary(argv: readonly string[], initial: ServePlan, initialText: string | undefined, io: RunnerIo): void {
  let plan = initial
  // The config file's text in effect (`initialText`: what `initial` was loaded from). Workers build their
  // plans from it, never from the file as it is when they start or re-read it: a file changed (or broken)
  // since it was accepted would otherwise give a replacement worker other peers than the rest, or fail it
  // at start again and again.
  let configText = initialText
  let stopping = false
  let announced = false
  let exitCode = 0
  const ready = new Set<number>()
  // The primary's own lines (start-up, metrics address) in the format of the workers' access log.
  const log = createRequestLog(plan.log)
  const exit = (): never => {
    log.flush()
    return io.exit(exitCode)
  }
  const checks = startChecks(plan, (verdict) => broadcast({ sticky: 'check', ...verdict }))

  const fork = (): Worker => {
    const worker = cluster.fork()
    worker.on('message', (message: unknown) => {
      if (!isClusterMessage(message)) return
      if (message.sticky === 'hello') {
        if (worker.isConnected()) worker.send({ sticky: 'checks', checks: verdicts(checks), config: configText } satisfies ClusterMessage)
      } else if (message.sticky === 'ready') {
        ready.add(worker.id)
        if (!announced && ready.size >= plan.workers) {
          announced = true
          log.notice(`${message.notice} [${plan.workers} workers]`)
        }
      } else if (message.sticky === 'blame') {
        for (const other of Object.values(cluster.workers ?? {})) {
          if (other !== undefined && other.id !== worker.id && other.isConnected()) other.send(message)
        }
      }
    })
    return worker
  }

  cluster.on('exit', (worker, code, signal) => {
    ready.delete(worker.id)
    if (stopping) {
      exitCode = Math.max(exitCode, code ?? (signal === null ? 0 : EXIT_FAILURE))
      if (Object.keys(cluster.workers ?? {}).length === 0) exit()
      return
    }
    io.err(`sticky-proxy: worker ${worker.process.pid ?? '?'} exited (${signal ?? `code ${code}`}); starting another`)
    fork()
  })

  for (let i = 0; i < plan.workers; i += 1) fork()

  const metricsServer =
    plan.metrics === undefined
      ? undefined
      : listenMetrics(
          clusterCollector(),
          plan.metrics,
          (line) => log.notice(line),
          (line) => {
            io.err(`sticky-proxy: ${line}`)
            stop('SIGTERM', true)
          },
        )

  const broadcast = (message: ClusterMessage): void => {
    for (const worker of Object.values(cluster.workers ?? {})) if (worker?.isConnected()) worker.send(message)
  }

  function stop(signal: string, now: boolean): void {
    const forced = now || stopping
    stopping = true
    for (const route of checks) route.checker.close()
    metricsServer?.close()
    metricsServer?.closeAllConnections()
    broadcast({ sticky: 'stop', signal, now: forced })
    if (Object.keys(cluster.workers ?? {}).length === 0) exit()
  }

  function reload(): void {
    // Checked once here, so that an invalid file or a change that needs a restart is logged once; the
    // workers then each re-read the file and apply it.
    if (plan.configFile === undefined) {
      io.err('sticky-proxy: SIGHUP: no --config file to re-read; nothing changed')
      return
    }
    const recording = recordingConfigText(io, plan.configFile)
    const reading = readReload(plan, argv, recording.io)
    if (!reading.ok) {
      io.err(`sticky-proxy: SIGHUP: ${reading.message}; keeping the running configuration`)
      return
    }
    const next = reading.plan
    plan = next
    log.apply(next.log)
    // The checks follow the new peer lists (kept peers keep their verdicts, as in the workers' balancers).
    for (const [index, route] of checks.entries()) {
      const peers = next.routes[index]?.options.peers
      if (peers !== undefined) route.balancer.setPeers(peers)
    }
    configText = recording.text()
    broadcast({ sticky: 'reload', config: configText })
    // After the reload (messages to a worker arrive in order): a peer removed and added back is new to a
    // worker's balancer but may have kept its verdict here.
    broadcast({ sticky: 'checks', checks: verdicts(checks) })
  }

  process.on('SIGTERM', () => stop('SIGTERM', false))
  process.on('SIGINT', () => stop('SIGINT', false))
  process.on('SIGHUP', reload)
}

/**
 * The health checks of every route that has them, run here once for all workers. Each checker reads
 * the peers of a balancer of its own (built from the route's options, never asked to route), so that
 * a reload's `setPeers` reaches it.
 */
function startChecks(plan: ServePlan, changed: (verdict: CheckVerdict) => void): RouteChecks[] {
  const checks: RouteChecks[] = []
  for (const route of plan.routes) {
    const { healthCheck, proxy, ...balancerOptions } = route.options
    if (healthCheck === undefined) continue
    const balancer = createBalancer(balancerOptions)
    const checker = createHealthChecker({
      peers: () => balancer.peers,
      healthCheck,
      agent: proxy?.agent,
      onChange: ({ peer, up }) => changed({ route: route.path, peer: peer.id, up }),
    })
    checks.push({ path: route.path, balancer, checker })
  }
  return checks
}

/** Every checked peer's current verdict. */
function verdicts(checks: readonly RouteChecks[]): CheckVerdict[] {
  return checks.flatMap((route) =>
    route.balancer.peers.flatMap((peer) => {
      const state = route.checker.state(peer)
      return state === undefined ? [] : [{ route: route.path, peer: peer.id, up: state === 'up' }]
    }),
  )
}

/**
 * A worker: serves as the single process does, but takes its signals from the primary (a signal sent
 * to the whole process group reaches every worker too; handled there, it would count twice), takes
 * its health-check verdicts from the primary (it starts listening once it has them), shares its
 * blames, and stops when the primary is gone.
 */
export function runWorker(argv: readonly string[], io: RunnerIo): void {
  const send = (message: ClusterMessage): void => {
    if (process.connected) process.send?.(message)
  }
  let runner: Runner | undefined
  /** Blames another worker relayed before this one had its verdicts (and so its balancers). */
  const early: Array<{ route: string; peer: string }> = []
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => {})
  process.on('message', (message: unknown) => {
    if (!isClusterMessage(message)) return
    if (message.sticky === 'checks') {
      runner ??= startRunner(argv, workerPlan(argv, withConfigText(io, configOf(argv, io), message.config), io), io, {
        blamed: (route, peer) => send({ sticky: 'blame', route, peer }),
        listening: (notice) => send({ sticky: 'ready', notice }),
      })
      // Applied before the listener binds (it binds asynchronously): no request is routed without them.
      for (const verdict of message.checks) runner.applyCheck(verdict.route, verdict.peer, verdict.up)
      for (const blame of early.splice(0)) runner.applyBlame(blame.route, blame.peer)
      return
    }
    // Before the verdicts: a blame is kept for then; a stop (the primary is going away) ends this
    // worker; a verdict change is in the verdicts the primary sends after it.
    if (runner === undefined) {
      if (message.sticky === 'blame') early.push({ route: message.route, peer: message.peer })
      else if (message.sticky === 'stop') io.exit(0)
      return
    }
    if (message.sticky === 'check') runner.applyCheck(message.route, message.peer, message.up)
    else if (message.sticky === 'blame') runner.applyBlame(message.route, message.peer)
    else if (message.sticky === 'reload') runner.reload(message.config)
    else if (message.sticky === 'stop') runner.stop(message.signal, message.now)
  })
  process.on('disconnect', () => {
    if (runner === undefined) io.exit(0)
    else runner.stop('SIGTERM', false)
  })
  send({ sticky: 'hello' })
}

/** The `--config` file of the command line, or undefined (no file: nothing to take from the primary). */
function configOf(argv: readonly string[], io: RunnerIo): string | undefined {
  try {
    return parseServeFlags(argv).config
  } catch (error) {
    io.err(`sticky-proxy: ${errorLine(error)}`)
    return io.exit(2)
  }
}

/** A worker's plan, from the config text the primary accepted; a refusal (a key file gone since) ends the worker. */
function workerPlan(argv: readonly string[], planIo: RunnerIo, io: RunnerIo): ServePlan {
  try {
    return loadServePlan(argv, planIo)
  } catch (error) {
    io.err(`sticky-proxy: ${errorLine(error)}`)
    return io.exit(2)
  }
}
