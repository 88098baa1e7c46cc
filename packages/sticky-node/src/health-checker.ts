import { Agent as HttpAgent, type Agent, type ClientRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, type AgentOptions } from 'node:https'
import { performance } from 'node:perf_hooks'
import {
  callHook,
  expectsStatus,
  observeCheck,
  resolveHealthCheck,
  StickyConfigError,
  upstreamHost,
  type Balancer,
  type CheckTally,
  type HealthCheckOptions,
  type Peer,
  type ResolvedHealthCheck,
} from 'sticky-core'
import { requestUpstream } from './upstream'

/** What {@link HealthCheckerOptions.onChange} receives when the checks change their verdict on a peer. */
export interface HealthCheckChange {
  readonly peer: Peer
  /** What the checks now say: `true` after `rises` passed checks in a row, `false` after `falls` failed ones. */
  readonly up: boolean
  /** The last check's result: `'status 200'`, `'status 503'`, `'timeout'`, `'error ECONNREFUSED'`, ... */
  readonly detail: string
}

/** Options of {@link createHealthChecker}: whom to check (`balancer` or `peers`), and how. */
export interface HealthCheckerOptions {
  /**
   * The balancer whose peers are checked (its current `peers`, re-read as `setPeers` changes them) and
   * marked with `setChecked`. Give this or `peers`.
   */
  balancer?: Pick<Balancer, 'peers' | 'setChecked'> | undefined
  /**
   * The peers to check when no balancer is marked (a cluster primary that only broadcasts what it
   * sees): a list, or a function read again and again so that the list can change.
   */
  peers?: readonly Peer[] | (() => readonly Peer[]) | undefined
  /** What to check: see sticky-core's `HealthCheckOptions`. */
  healthCheck: HealthCheckOptions
  /**
   * The TLS and socket options for a peer, as the proxy's `proxy.agent`: returned options are used for
   * the checker's own connections (one per check, closed after it); a returned `Agent` is used as is.
   */
  agent?: ((peer: Peer) => Agent | AgentOptions) | undefined
  /** Called when the checks change their verdict on a peer (after `rises`/`falls`). */
  onChange?: ((change: HealthCheckChange) => void) | undefined
  /**
   * Receives what `onChange` threw, or what the promise it returned rejected with.
   * @default emits a process warning (code `STICKY_HOOK_ERROR`)
   */
  onError?: ((error: unknown) => void) | undefined
}

/** Active health checks running on a set of peers: see {@link createHealthChecker}. */
export interface HealthChecker {
  /** The options in effect, with defaults applied. */
  readonly options: ResolvedHealthCheck
  /** What the checks say about a peer (by object or route key): `'up'`, `'down'`, or undefined when it is not checked. */
  state(peer: Peer | string): 'up' | 'down' | undefined
  /** Stops every check: timers cleared, checks in flight aborted, the checker's connections closed. */
  close(): void
}

/** A check's response body is read and discarded up to this many bytes; then the connection is closed. */
const MAX_BODY = 64 * 1024
/** How often the peer list is compared with the one checked (an identity check: `setPeers` makes a new list). */
const WATCH_MS = 1_000
const KEYS: ReadonlySet<string> = new Set(['balancer', 'peers', 'healthCheck', 'agent', 'onChange', 'onError'])

/** One peer's checks. */
interface Probe {
  peer: Peer
  tally: CheckTally
  timer: NodeJS.Timeout | undefined
  request: ClientRequest | undefined
  stopped: boolean
}

/**
 * Runs active health checks (HAProxy's `check`, nginx Plus's `health_check`): every `interval`, for each
 * peer, one `GET path` with `Host` the peer's own (or `host`), on a fresh connection (TLS for `https://`
 * peers, with the `agent` options), which passes when the status is expected and the response arrives
 * whole within `timeout`; its body is discarded. After `falls` failed checks in a row the peer is marked
 * down (`balancer.setChecked(peer, false)`), after `rises` passed ones up again; peers start up. One check
 * per peer is in flight at a time; the first check of each peer starts at a random point of the first
 * interval and later ones are spread by ±10 %, so that many peers are not checked at once. Peers added by
 * `setPeers` are checked from then on, removed ones no longer. Timers do not keep the process alive.
 *
 * With `peers` instead of a balancer it marks nothing: `onChange` tells, for example a cluster primary
 * that broadcasts each change to its workers, which apply it with `balancer.setChecked(id, up)`.
 *
 * @throws StickyConfigError for invalid options (`healthCheck.*` named as in `createStickyProxy`)
 *
 * @example
 * ```ts
 * import { createBalancer } from 'sticky-core'
 * import { createHealthChecker } from 'sticky-node'
 *
 * const balancer = createBalancer({ peers: ['127.0.0.1:9001', '127.0.0.1:9002'] })
 * const checker = createHealthChecker({
 *   balancer,
 *   healthCheck: { path: '/healthz', interval: '2s', falls: 2 },
 *   onChange: ({ peer, up, detail }) => console.log(peer.id, up ? 'up' : 'down', detail),
 * })
 * // later: checker.close()
 * ```
 */
export function createHealthChecker(options: HealthCheckerOptions): HealthChecker {
  if (typeof options !== 'object' || options === null) throw new StickyConfigError('options', options, 'expected an object')
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key))
      throw new StickyConfigError(key, (options as unknown as Record<string, unknown>)[key], `unknown option: expected one of ${[...KEYS].join(', ')}`)
  }
  const { balancer, peers, agent: factory, onChange, onError } = options
  if ((balancer === undefined) === (peers === undefined)) throw new StickyConfigError('balancer', balancer, 'give either a balancer or peers')
  if (balancer !== undefined && (typeof balancer !== 'object' || balancer === null || typeof balancer.setChecked !== 'function')) {
    throw new StickyConfigError('balancer', balancer, 'expected a balancer (with setChecked)')
  }
  if (peers !== undefined && typeof peers !== 'function' && !Array.isArray(peers))
    throw new StickyConfigError('peers', peers, 'expected a list of peers or a function returning one')
  for (const [name, value] of [
    ['agent', factory],
    ['onChange', onChange],
    ['onError', onError],
  ] as const) {
    if (value !== undefined && typeof value !== 'function') throw new StickyConfigError(name, value, 'expected a function')
  }
  const check = resolveHealthCheck(options.healthCheck)
  const readPeers = (): readonly Peer[] => (balancer !== undefined ? balancer.peers : typeof peers === 'function' ? peers() : (peers as readonly Peer[]))
  const probes = new Map<string, Probe>()
  /** The checker's own agents per origin, and whether it created them (and so closes them). */
  const agents = new Map<string, { readonly agent: Agent; readonly owned: boolean }>()
  let seen: readonly Peer[] | undefined
  let closed = false

  const sync = (): void => {
    if (closed) return
    const list = readPeers()
    if (list === seen) return
    seen = list
    const ids = new Set<string>()
    for (const peer of list) {
      ids.add(peer.id)
      const probe = probes.get(peer.id)
      if (probe !== undefined) {
        probe.peer = peer
        continue
      }
      const added: Probe = { peer, tally: { up: true, streak: 0 }, timer: undefined, request: undefined, stopped: false }
      probes.set(peer.id, added)
      schedule(added, Math.random() * check.interval)
    }
    for (const [id, probe] of probes) {
      if (ids.has(id)) continue
      stop(probe)
      probes.delete(id)
    }
    const origins = new Set(list.map(originKey))
    for (const [key, entry] of agents) {
      if (origins.has(key)) continue
      agents.delete(key)
      if (entry.owned) entry.agent.destroy()
    }
  }

  const schedule = (probe: Probe, delay: number): void => {
    probe.timer = setTimeout(run, Math.max(0, Math.round(delay)), probe)
    probe.timer.unref()
  }

  const stop = (probe: Probe): void => {
    probe.stopped = true
    clearTimeout(probe.timer)
    probe.request?.destroy()
  }

  const agentFor = (peer: Peer): Agent => {
    const key = originKey(peer)
    const existing = agents.get(key)
    if (existing !== undefined) return existing.agent
    const given = factory?.(peer) ?? {}
    let entry: { agent: Agent; owned: boolean }
    if (given instanceof HttpAgent) {
      entry = { agent: given, owned: false }
    } else {
      // A fresh connection per check: a check proves the peer accepts connections now, and a pooled
      // connection the peer closed while idle would fail it for nothing.
      const agentOptions: AgentOptions = { ...given, keepAlive: false }
      entry = { agent: peer.target.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions), owned: true }
    }
    agents.set(key, entry)
    return entry.agent
  }

  const run = (probe: Probe): void => {
    probe.timer = undefined
    sync()
    if (closed || probe.stopped) return
    const started = performance.now()
    const peer = probe.peer
    let done = false
    let up: ClientRequest | undefined
    const deadline = setTimeout(() => finish(false, 'timeout'), check.timeout)
    deadline.unref()
    const finish = (passed: boolean, detail: string): void => {
      if (done) return
      done = true
      clearTimeout(deadline)
      probe.request = undefined
      up?.destroy()
      if (closed || probe.stopped) return
      record(probe, passed, detail)
      const next = check.interval * (0.9 + Math.random() * 0.2) - (performance.now() - started)
      schedule(probe, next)
    }
    try {
      up = requestUpstream(peer, {
        method: 'GET',
        path: check.path,
        headers: ['Host', check.host ?? upstreamHost(peer), 'Connection', 'close'],
        agent: agentFor(peer),
        timeout: check.timeout,
      })
    } catch (error) {
      finish(false, `proxy ${describe(error)}`)
      return
    }
    probe.request = up
    up.on('error', (error: unknown) => finish(false, `error ${describe(error)}`))
    up.on('response', (response: IncomingMessage) => {
      const status = response.statusCode ?? 0
      const passed = expectsStatus(check.expect, status)
      const detail = `status ${status}`
      let bytes = 0
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        // Enough read to know the peer answers; the rest is not waited for.
        if (bytes > MAX_BODY) finish(passed, detail)
      })
      response.on('error', () => undefined)
      response.once('end', () => finish(passed, detail))
      response.once('close', () => finish(false, `${detail}, response cut`))
    })
    up.end()
  }

  const record = (probe: Probe, passed: boolean, detail: string): void => {
    const observed = observeCheck(probe.tally, passed, check)
    probe.tally = observed.tally
    // Applied after every check, not only on a change: a peer removed and added again between two
    // looks at the list is a new peer to the balancer, unchecked, while its probe kept the verdict.
    balancer?.setChecked(probe.peer, observed.tally.up)
    if (!observed.changed || onChange === undefined) return
    callHook(onChange, { peer: probe.peer, up: observed.tally.up, detail }, onError ?? warn)
  }

  sync()
  const watch = setInterval(sync, Math.min(check.interval, WATCH_MS))
  watch.unref()

  return Object.freeze({
    options: check,
    state(peer: Peer | string): 'up' | 'down' | undefined {
      const probe = probes.get(typeof peer === 'string' ? peer : peer?.id)
      return probe === undefined ? undefined : probe.tally.up ? 'up' : 'down'
    },
    close(): void {
      if (closed) return
      closed = true
      clearInterval(watch)
      for (const probe of probes.values()) stop(probe)
      probes.clear()
      for (const { agent, owned } of agents.values()) if (owned) agent.destroy()
      agents.clear()
    },
  })
}

function originKey(peer: Peer): string {
  const target = peer.target
  return target.kind === 'unix' ? `unix:${target.socketPath}` : target.origin
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') return code
  return error instanceof Error ? error.message : String(error)
}

function warn(error: unknown): void {
  process.emitWarning(error instanceof Error ? error : String(error), { code: 'STICKY_HOOK_ERROR' })
}
