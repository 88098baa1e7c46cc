import { Agent as HttpAgent, type Agent } from 'node:http'
import { Agent as HttpsAgent, type AgentOptions } from 'node:https'
import type { Socket } from 'node:net'
import type { Peer } from 'sticky-core'

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
  readonly #factory: ((peer: Peer) => Agent | AgentOptions) | undefined
  readonly #peers: (() => readonly Peer[]) | undefined
  #seen: readonly Peer[] | undefined

  /**
   * @param factory - the `proxy.agent` option
   * @param peers - the configured peers, read on each request: the pools of peers that left the
   *   list (the balancer's `setPeers`) are retired on the next request
   */
  constructor(factory: ((peer: Peer) => Agent | AgentOptions) | undefined, peers?: () => readonly Peer[]) {
    this.#factory = factory
    this.#peers = peers
  }

  /** The pool for `peer`'s origin. May throw if the user's factory throws. */
  get(peer: Peer): Agent {
    this.#prune()
    const target = peer.target
    const key = poolKey(peer)
    const existing = this.#agents.get(key)
    if (existing !== undefined) return existing
    const given = this.#factory?.(peer) ?? {}
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
    const agent = this.#agents.get(poolKey(peer))
    if (agent !== undefined && this.#owned.has(agent)) destroyIdle(agent)
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
    this.#owned.clear()
    this.#agents.clear()
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
