import type { Agent, IncomingMessage } from 'node:http'
import type { AgentOptions } from 'node:https'
import { StickyConfigError } from 'sticky-core'
import type { AttemptError, BalancerOptions, Decision, Peer } from 'sticky-core'

/** Which `X-Forwarded-*` headers the proxy writes. */
export interface XForwardedOptions {
  /** Append the client's address to `X-Forwarded-For`. @default true */
  for?: boolean | undefined
  /** Set `X-Forwarded-Proto` to `http` or `https` (how the client reached the proxy). @default true */
  proto?: boolean | undefined
  /** Set `X-Forwarded-Host` to the client's `Host`. @default true */
  host?: boolean | undefined
}

/** Transport settings of the proxy (the balancer's options are beside them). */
export interface ProxyOptions {
  /**
   * Milliseconds of upstream inactivity (connecting, sending, or waiting for bytes) before the
   * request is abandoned: 504 if no response head arrived yet, otherwise the client's response is
   * aborted. Mirrors nginx `proxy_connect_timeout` / `proxy_send_timeout` / `proxy_read_timeout`,
   * which also measure the time between two operations, not the whole exchange. Time spent
   * waiting on a slow client (its upload, or its reading of the response) does not count. `0` means
   * no limit, as in every sticky adapter (and node:http's own `setTimeout(0)`).
   * @default 60000
   */
  timeout?: number | undefined
  /**
   * How many other peers an idempotent request may be retried on after a connection failure
   * (nginx `proxy_next_upstream error timeout` with `proxy_next_upstream_tries`).
   * @default peers.length - 1 (every peer at most once, like `proxy_next_upstream_tries 0`)
   */
  retries?: number | undefined
  /**
   * The connection pool for a peer: an `http.Agent` (or `https.Agent` for `https://` peers) to use
   * as is, or options for the agent the proxy creates (TLS options such as `ca` apply to
   * `https://` peers). Agents the proxy creates are destroyed by
   * `close()`; agents you return are yours to destroy.
   * @default one keep-alive agent per peer: `{ keepAlive: true, timeout: 4000 }` (idle connections
   * closed after 4 s, before a node:http peer's 5 s `keepAliveTimeout`); returned options are merged over it
   */
  agent?: ((peer: Peer) => Agent | AgentOptions) | undefined
  /**
   * `X-Forwarded-For` / `-Proto` / `-Host` (the de facto headers RFC 7239 standardised as
   * `Forwarded`). `false` writes none of them and forwards the client's untouched.
   * @default true
   */
  xForwarded?: boolean | XForwardedOptions | undefined
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
export interface ResolvedProxyOptions {
  readonly timeout: number
  readonly retries: number | undefined
  readonly agent: ((peer: Peer) => Agent | AgentOptions) | undefined
  readonly xForwarded: { readonly for: boolean; readonly proto: boolean; readonly host: boolean }
}

const DEFAULT_TIMEOUT = 60_000

/**
 * Validates the transport options once, at configuration time (strict on configuration).
 *
 * @throws StickyConfigError naming `proxy.<option>` and the rejected value
 */
export function resolveProxyOptions(options: ProxyOptions | undefined): ResolvedProxyOptions {
  const timeout = options?.timeout ?? DEFAULT_TIMEOUT
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
    throw new StickyConfigError('proxy.timeout', timeout, 'expected milliseconds >= 0 (0: no limit)')
  }
  const retries = options?.retries
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0)) {
    throw new StickyConfigError('proxy.retries', retries, 'expected an integer >= 0')
  }
  const agent = options?.agent
  if (agent !== undefined && typeof agent !== 'function') {
    throw new StickyConfigError('proxy.agent', agent, 'expected a function of the peer')
  }
  const xf = options?.xForwarded ?? true
  if (typeof xf !== 'boolean' && (typeof xf !== 'object' || xf === null)) {
    throw new StickyConfigError('proxy.xForwarded', xf, 'expected a boolean or { for, proto, host }')
  }
  const xForwarded =
    typeof xf === 'boolean'
      ? { for: xf, proto: xf, host: xf }
      : { for: flag('proxy.xForwarded.for', xf.for), proto: flag('proxy.xForwarded.proto', xf.proto), host: flag('proxy.xForwarded.host', xf.host) }
  return { timeout, retries, agent, xForwarded }
}

function flag(option: string, value: boolean | undefined): boolean {
  if (value === undefined) return true
  if (typeof value !== 'boolean') throw new StickyConfigError(option, value, 'expected a boolean')
  return value
}
