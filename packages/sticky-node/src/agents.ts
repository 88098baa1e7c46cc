/// <reference path="./undici-pool.d.ts" />
import { Agent as HttpAgent, type Agent } from 'node:http'
import { Agent as HttpsAgent, type AgentOptions } from 'node:https'
import type { Socket } from 'node:net'
import type { Peer } from 'sticky-core'
import type { Pool } from 'undici'
import UndiciPool from 'undici/lib/dispatcher/pool.js'

/**
 * How long an idle pooled connection is kept open. Below the 5 s keep-alive timeout of node:http
 * servers (and far below nginx's 75 s), so that the proxy, not the peer, closes an idle connection,
 * and a request seldom meets a connection the peer is closing.
 */
export const IDLE_TIMEOUT_MS = 4_000

/**
 * One connection pool per upstream origin, created on first use so that a peer list of thousands
 * costs nothing until traffic arrives. Pools built here are destroyed by `close`; an `Agent`
 * returned by the user's factory is the user's to destroy.
 */
export class AgentPool {
  readonly #agents = new Map<string, Agent>()
  readonly #owned = new Set<Agent>()
  /** The user's answer per origin: the factory is asked once, whichever client it serves. */
  readonly #given = new Map<string, Agent | AgentOptions>()
  /** The request clients per origin; `null` for an origin whose user's `http.Agent` serves its requests. */
  readonly #pools = new Map<string, Pool | null>()
  readonly #factory: ((peer: Peer) => Agent | AgentOptions) | undefined
  readonly #peers: (() => readonly Peer[]) | undefined
  readonly #connectTimeout: number
  #seen: readonly Peer[] | undefined
  /**
   * Set while a connection that was just established takes its first request: undici writes that
   * request synchronously after its 'connect' event, so the handler's `onConnect` that follows at
   * once is the one on a fresh connection; any other is on a kept-alive one.
   */
  #fresh = false
  readonly #freshOff = (): void => {
    this.#fresh = false
  }
  readonly #connected = (): void => {
    this.#fresh = true
    queueMicrotask(this.#freshOff)
  }

  /**
   * @param factory - the `proxy.agent` option
   * @param peers - the configured peers, read on each request: the pools of peers that left the
   *   list (the balancer's `setPeers`) are retired on the next request
   * @param connectTimeout - how long a new connection may take, in milliseconds (`proxy.timeout`)
   */
  constructor(factory: ((peer: Peer) => Agent | AgentOptions) | undefined, peers?: () => readonly Peer[], connectTimeout = 60_000) {
    this.#factory = factory
    this.#peers = peers
    this.#connectTimeout = connectTimeout
  }

  /**
   * The request client for `peer`'s origin: an undici `Pool` with one request per connection at a
   * time, or `undefined` when the user's factory returned an `http.Agent` (then {@link get} serves
   * the peer's requests). May throw if the user's factory throws.
   */
  pool(peer: Peer): Pool | undefined {
    this.#prune()
    const key = poolKey(peer)
    const existing = this.#pools.get(key)
    if (existing !== undefined) return existing ?? undefined
    const given = this.#givenFor(key, peer)
    if (given instanceof HttpAgent) {
      this.#pools.set(key, null)
      return undefined
    }
    const pool = createPool(peer, given, this.#connectTimeout)
    pool.on('connect', this.#connected)
    this.#pools.set(key, pool)
    return pool
  }

  /**
   * `peer` answered with an interim 100, which undici refuses (it closes the connection): its
   * origin's requests go through node:http from now on, as long as the peer stays in the list.
   */
  refusedInterim(peer: Peer): void {
    const key = poolKey(peer)
    const pool = this.#pools.get(key)
    this.#pools.set(key, null)
    if (pool !== undefined && pool !== null) retire(pool)
  }

  /** Whether the request whose handler's `onConnect` runs now is on a connection established for it. */
  takeFresh(): boolean {
    const fresh = this.#fresh
    this.#fresh = false
    return fresh
  }

  #givenFor(key: string, peer: Peer): Agent | AgentOptions {
    let given = this.#given.get(key)
    if (given === undefined) {
      given = this.#factory?.(peer) ?? {}
      this.#given.set(key, given)
    }
    return given
  }

  /** The pool for `peer`'s origin. May throw if the user's factory throws. */
  get(peer: Peer): Agent {
    this.#prune()
    const target = peer.target
    const key = poolKey(peer)
    const existing = this.#agents.get(key)
    if (existing !== undefined) return existing
    const given = this.#givenFor(key, peer)
    let agent: Agent
    if (given instanceof HttpAgent) {
      agent = given
    } else {
      const options: AgentOptions = { keepAlive: true, timeout: IDLE_TIMEOUT_MS, ...given }
      agent = target.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options)
      this.#owned.add(agent)
    }
    this.#agents.set(key, agent)
    return agent
  }

  /**
   * Closes the idle connections of `peer`'s pool, when this object created it (a user's agent may
   * serve other origins too). Called when one of them turned out closed by the peer: the pool hands
   * out the most recently used connection first, so the others are idle for longer still.
   */
  discardIdle(peer: Peer): void {
    const key = poolKey(peer)
    const agent = this.#agents.get(key)
    if (agent !== undefined && this.#owned.has(agent)) destroyIdle(agent)
    // A Pool cannot close only its idle connections: it is retired (its busy connections finish
    // their exchange, the idle ones close now) and the next request opens a new one.
    const pool = this.#pools.get(key)
    if (pool !== undefined && pool !== null) {
      this.#pools.delete(key)
      retire(pool)
    }
  }

  /**
   * Forgets the pools of origins no configured peer has any more. A pool this object created is
   * retired gracefully: its idle connections close now, the busy ones as soon as their exchange
   * is over, so requests in flight to a removed peer still finish. A user's agent is only forgotten.
   */
  #prune(): void {
    const peers = this.#peers?.()
    if (peers === undefined || peers === this.#seen) return
    this.#seen = peers
    const wanted = new Set(peers.map(poolKey))
    for (const key of this.#given.keys()) if (!wanted.has(key)) this.#given.delete(key)
    for (const [key, pool] of this.#pools) {
      if (wanted.has(key)) continue
      this.#pools.delete(key)
      if (pool !== null) retire(pool)
    }
    for (const [key, agent] of this.#agents) {
      if (wanted.has(key)) continue
      this.#agents.delete(key)
      if (!this.#owned.delete(agent)) continue
      agent.on('free', (socket: Socket) => socket.destroy())
      destroyIdle(agent)
    }
  }

  /** Destroys the pools this object created and forgets all of them. */
  close(): void {
    for (const agent of this.#owned) agent.destroy()
    for (const pool of this.#pools.values()) if (pool !== null) pool.destroy().catch(ignore)
    this.#owned.clear()
    this.#agents.clear()
    this.#pools.clear()
    this.#given.clear()
  }
}

function poolKey(peer: Peer): string {
  const target = peer.target
  return target.kind === 'unix' ? `unix:${target.socketPath}` : target.origin
}

function destroyIdle(agent: Agent): void {
  for (const sockets of Object.values(agent.freeSockets)) {
    for (const socket of sockets ?? []) socket.destroy()
  }
}

/** The `http.Agent` options that shape the pool itself; every other one is a socket or TLS option. */
const POOL_SHAPING: ReadonlySet<string> = new Set([
  'keepAlive',
  'keepAliveMsecs',
  'timeout',
  'maxSockets',
  'maxFreeSockets',
  'maxTotalSockets',
  'scheduling',
  'noDelay',
])

/**
 * An undici `Pool` for `peer` from the `proxy.agent` options: `keepAlive: false` sends one request
 * per connection, `timeout` is the idle timeout of kept-alive connections, `maxSockets` bounds the
 * connections; the socket and TLS options (`ca`, `cert`, `key`, `rejectUnauthorized`, `servername`,
 * `localAddress`, `family`, `lookup`, ...) go to each connection as to `net.connect`/`tls.connect`.
 * The peer's silence is timed per request (`headersTimeout`, `bodyTimeout`), not here.
 */
function createPool(peer: Peer, given: AgentOptions, connectTimeout: number): Pool {
  const target = peer.target
  const connect: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(given)) if (!POOL_SHAPING.has(name) && value !== undefined) connect[name] = value
  const options: Pool.Options = {
    pipelining: given.keepAlive === false ? 0 : 1,
    keepAliveTimeout: typeof given.timeout === 'number' && given.timeout > 0 ? given.timeout : IDLE_TIMEOUT_MS,
    // The peer's own Keep-Alive hint only shortens the idle time (undici's threshold keeps a margin).
    keepAliveMaxTimeout: typeof given.timeout === 'number' && given.timeout > 0 ? given.timeout : IDLE_TIMEOUT_MS,
    connectTimeout,
    connect: connect as NonNullable<Pool.Options['connect']>,
  }
  if (typeof given.maxSockets === 'number' && Number.isFinite(given.maxSockets)) options.connections = given.maxSockets
  if (target.kind === 'unix') {
    options.socketPath = target.socketPath
    return new UndiciPool('http://localhost', options)
  }
  return new UndiciPool(target.origin, options)
}

/** Closes a pool once its requests in flight are over; nothing waits for it. */
function retire(pool: Pool): void {
  pool.close().catch(ignore)
}

function ignore(): void {}
