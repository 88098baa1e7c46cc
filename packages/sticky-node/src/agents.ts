import { Agent as HttpAgent, type Agent } from 'node:http'
import { Agent as HttpsAgent, type AgentOptions } from 'node:https'
import type { Peer } from 'sticky-core'

/**
 * One connection pool per upstream origin, created on first use so that a peer list of thousands
 * costs nothing until traffic arrives. Pools built here are destroyed by `close`; an `Agent`
 * returned by the user's factory is the user's to destroy.
 */
export class AgentPool {
  readonly #agents = new Map<string, Agent>()
  readonly #owned = new Set<Agent>()
  readonly #factory: ((peer: Peer) => Agent | AgentOptions) | undefined

  constructor(factory: ((peer: Peer) => Agent | AgentOptions) | undefined) {
    this.#factory = factory
  }

  /** The pool for `peer`'s origin. May throw if the user's factory throws. */
  get(peer: Peer): Agent {
    const target = peer.target
    const key = target.kind === 'unix' ? `unix:${target.socketPath}` : target.origin
    const existing = this.#agents.get(key)
    if (existing !== undefined) return existing
    const given = this.#factory?.(peer) ?? {}
    let agent: Agent
    if (given instanceof HttpAgent) {
      agent = given
    } else {
      const options: AgentOptions = { keepAlive: true, ...given }
      agent = target.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options)
      this.#owned.add(agent)
    }
    this.#agents.set(key, agent)
    return agent
  }

  /** Destroys the pools this object created and forgets all of them. */
  close(): void {
    for (const agent of this.#owned) agent.destroy()
    this.#owned.clear()
    this.#agents.clear()
  }
}
