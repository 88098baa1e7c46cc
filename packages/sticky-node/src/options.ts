import type { Agent, IncomingMessage } from 'node:http'
import type { AgentOptions } from 'node:https'
import { resolveSharedProxyOptions, StickyConfigError } from 'sticky-core'
import type { AttemptError, BalancerOptions, Decision, Peer, ResolvedSharedProxyOptions, SharedProxyOptions } from 'sticky-core'

export type { XForwardedOptions } from 'sticky-core'

/**
 * Transport settings of the proxy (the balancer's options are beside them): sticky-core's
 * `SharedProxyOptions` (`timeout`, `retries`, `xForwarded`, the same object with the same defaults in
 * sticky-fastify and sticky-fetch), plus `agent`. An unknown key is a `StickyConfigError`.
 */
export type ProxyOptions = SharedProxyOptions & {
  /**
   * The connection pool for a peer: an `http.Agent` (or `https.Agent` for `https://` peers) to use
   * as is, or options for the agent the proxy creates (TLS options such as `ca` apply to
   * `https://` peers). Agents the proxy creates are destroyed by
   * `close()`; agents you return are yours to destroy.
   * @default one keep-alive agent per peer: `{ keepAlive: true, timeout: 4000 }` (idle connections
   * closed after 4 s, before a node:http peer's 5 s `keepAliveTimeout`); returned options are merged over it
   */
  agent?: ((peer: Peer) => Agent | AgentOptions) | undefined
}

/**
 * Why the proxy, rather than a peer, produced the status (or the response was cut short): sticky-core's
 * `AttemptError` (`connect`, `timeout`, `protocol`, `upstream-aborted`, `client-aborted`, `client-body`,
 * `client-timeout`, `proxy`), plus what the proxy decides before any attempt: `unavailable` (the
 * balancer had no usable peer) and `rejected` (refused without asking a peer, as nginx does: 400 for
 * more than one `Host` or `Transfer-Encoding`, or an upgrade request with a body; 501 for a transfer
 * coding other than `chunked`).
 */
export type ProxyError = AttemptError | 'unavailable' | 'rejected'

/** What `onResponse` receives once per request, when the exchange with the client is over. */
export interface ProxyResponseEvent {
  /** The client's request. */
  readonly req: IncomingMessage
  /** The balancer's last decision: after retries it names the peer that answered. */
  readonly decision: Decision
  /**
   * The status sent to the client; 101 for a completed upgrade; 499 (nginx's "client closed
   * request") when the client left before any status was sent.
   */
  readonly status: number
  /** The peer that answered, or the last one tried, or null when none was. */
  readonly peer: Peer | null
  /** How many peers were tried (0 when the balancer had none). */
  readonly attempts: number
  /** Milliseconds from the request to the end of the exchange. */
  readonly durationMs: number
  /** Set when the exchange did not end with a complete upstream response. */
  readonly error: ProxyError | undefined
  /** True for `.upgrade()` exchanges (WebSocket and other HTTP Upgrades). */
  readonly upgrade: boolean
}

/** Options of `createStickyProxy`: the balancer's, plus the transport's. */
export type StickyProxyOptions = BalancerOptions & {
  /** Transport settings. */
  proxy?: ProxyOptions | undefined
  /**
   * Called once per request (and per upgrade) when it is over, for access logs and metrics. An
   * exception it throws goes to `onError`; the request is complete either way.
   */
  onResponse?: ((event: ProxyResponseEvent) => void) | undefined
  /**
   * Receives what a callback of yours threw (`onResponse`), so that a bug there never takes the
   * process down with every other request.
   * @default emits a process warning (`process.emitWarning`, code `STICKY_HOOK_ERROR`)
   */
  onError?: ((error: unknown) => void) | undefined
}

/** `ProxyOptions` with every default applied. */
export interface ResolvedProxyOptions extends ResolvedSharedProxyOptions {
  readonly agent: ((peer: Peer) => Agent | AgentOptions) | undefined
}

/** The keys of {@link ProxyOptions} that only sticky-node has. */
const OWN_PROXY_KEYS: readonly string[] = ['agent']

/**
 * Validates the transport options once, at configuration time (strict on configuration): the shared
 * keys by sticky-core's `resolveSharedProxyOptions`, which also refuses unknown ones, then `agent`.
 *
 * @throws StickyConfigError naming `proxy.<option>` and the rejected value
 */
export function resolveProxyOptions(options: ProxyOptions | undefined): ResolvedProxyOptions {
  const shared = resolveSharedProxyOptions(options, OWN_PROXY_KEYS)
  const agent = options?.agent
  if (agent !== undefined && typeof agent !== 'function') {
    throw new StickyConfigError('proxy.agent', agent, 'expected a function of the peer')
  }
  return { ...shared, agent }
}
