import type { Agent, IncomingMessage } from 'node:http'
import type { AgentOptions } from 'node:https'
import { resolveSharedProxyOptions, StickyConfigError } from 'sticky-core'
import type { BalancerOptions, ExchangeError, ExchangeEvent, HealthCheckOptions, Peer, ResolvedSharedProxyOptions, SharedProxyOptions } from 'sticky-core'
import type { AttemptRecord, HealthChangeEvent } from './events'

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
export type ProxyError = ExchangeError

/**
 * What `onResponse` receives once per request, when the exchange with the client is over:
 * sticky-core's `ExchangeEvent` (the same fields in sticky-fastify and sticky-fetch, so that one
 * logging or metrics function serves all three), plus the client's `request`.
 */
export interface ProxyResponseEvent extends ExchangeEvent {
  /** The client's request. */
  readonly request: IncomingMessage
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
   * Active health checks (HAProxy `check inter rise fall`): every `interval` each peer gets `GET path`;
   * a peer that failed `falls` checks in a row takes no requests (its pinned clients follow the
   * `failover` rule, as for a `down` peer) until it passed `rises` in a row. Passive health keeps
   * working beside it. Stopped by `close()`. See sticky-core's `HealthCheckOptions`.
   */
  healthCheck?: HealthCheckOptions | undefined
  /**
   * Called once per upstream attempt when it is judged (at its response head or failure), and once
   * more for a failure after the head: for metrics of attempts, retries, failures by kind and upstream
   * latency. An exception it throws goes to `onError`.
   */
  onAttempt?: ((record: AttemptRecord) => void) | undefined
  /**
   * Called when a peer's health changes: its active checks changed their verdict (`reason: 'check'`),
   * or passive health took a usable peer out or saw it answer again (`reason: 'passive'`). An exception
   * it throws goes to `onError`.
   */
  onHealthChange?: ((event: HealthChangeEvent) => void) | undefined
  /**
   * Receives what a callback of yours threw (`onResponse`, `onAttempt`, `onHealthChange`), or what the
   * promise it returned rejected with, so that a bug there never takes the process down with every
   * other request. What `onError` throws itself is dropped.
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
