import type { IncomingMessage } from 'node:http'
import type { FastifyReplyFromOptions } from '@fastify/reply-from'
import { createBalancer, resolveSharedProxyOptions, StickyConfigError } from 'sticky-core'
import type { FastifyRequest } from 'fastify'
import type { Balancer, BalancerOptions, ExchangeEvent, ResolvedSharedProxyOptions, SharedProxyOptions } from 'sticky-core'
import { normalizePrefix } from './prefix'

/** Options of `@fastify/reply-from` the plugin passes through. `base` is absent: the peer changes per request. */
export type ReplyFromOptions = Omit<FastifyReplyFromOptions, 'base'>

/** What the plugin does besides choosing a peer. */
export interface StickyFastifyPluginOptions {
  /**
   * The URL space the plugin handles, a literal path such as `/app`. It covers the prefix itself,
   * `prefix/...` and `prefix?...`, not `/appx`. Fastify's own routes still win over the proxy's.
   * Also Fastify's own register option, hence typed as Fastify types it.
   * @default '' (every URL)
   */
  prefix?: string
  /**
   * What replaces `prefix` in the upstream path: `''` strips it (`/app/a` is sent as `/a`), the
   * prefix itself keeps it. Mirrors `proxy_pass http://upstream/;` against `proxy_pass http://upstream;`.
   * @default '' (the prefix is stripped)
   */
  rewritePrefix?: string | undefined
  /**
   * `true`: forward every request under `prefix` to the chosen peer. `false`: only decide, in an
   * `onRequest` hook that sets `request.sticky` and appends the `Set-Cookie`; the application's
   * own routes answer (and may call `balancer.report`). `proxy` then has nothing to do.
   * @default true
   */
  forward?: boolean | undefined
  /**
   * How requests are forwarded: sticky-core's `SharedProxyOptions`, the same object with the same
   * meaning and defaults as sticky-node's and sticky-fetch's `proxy` (`timeout`, `retries`,
   * `xForwarded`). An unknown key is a `StickyConfigError`.
   *
   * Here `timeout` is the silence allowed before the response head, while the peer does not take the
   * request body, and between response body chunks (nginx `proxy_read_timeout`), passed to
   * `@fastify/reply-from` per request; `xForwarded` writes the fields by sticky-core's rules in place
   * of the client's, and Fastify's `trustProxy` decides what `X-Forwarded-Proto` says.
   * @default { timeout: 60000, retries: every other peer once, xForwarded: true }
   */
  proxy?: SharedProxyOptions | undefined
  /**
   * Options for the plugin's own `@fastify/reply-from` instance (undici pool sizes, `http` agents,
   * timeouts). `destroyAgent` defaults to `true` so that closing Fastify closes the pool.
   * @default {}
   */
  replyFrom?: ReplyFromOptions | undefined
  /**
   * `true`: also proxy WebSocket upgrades under `prefix` (the same path rules as requests), pinned
   * by the same cookie, like `@fastify/http-proxy`'s `websocket` option: the peer's WebSocket is
   * opened first (`ws:` for an http peer, `wss:` for https, or its unix socket), and the client's
   * upgrade is accepted, with the balancer's `Set-Cookie` on its 101, only once the peer accepted;
   * failures follow the same attempt policy as requests. Upgrades outside the prefix are left to
   * the application's other `upgrade` listeners. Ignored with `forward: false`.
   * @default false
   */
  websocket?: boolean | undefined
  /**
   * Called once per forwarded request when the exchange with the client is over, for access logs
   * and metrics: sticky-core's `ExchangeEvent`, the same in sticky-node and sticky-fetch (one logging
   * function serves all three), plus the Fastify `request`. What it throws goes to `onError`; the
   * request is complete either way. Not called with `forward: false` (the application answers).
   * With `websocket: true` it is also called once per proxied upgrade, when the WebSocket (or the
   * refusal) is over, with `upgrade: true` and the raw `IncomingMessage` as `request`.
   */
  onResponse?: ((event: FastifyResponseEvent) => void) | undefined
  /**
   * Receives what a callback of yours threw (`onResponse`), or what the promise it returned rejected
   * with, so that a bug there never takes the process down with every other request. What `onError`
   * throws itself is dropped.
   * @default logs it with the request's logger, at level `error`
   */
  onError?: ((error: unknown, request: FastifyRequest | IncomingMessage) => void) | undefined
}

/**
 * What `onResponse` receives: sticky-core's `ExchangeEvent` plus the client's request, told apart
 * by `upgrade`: a Fastify request for a forwarded request, the raw `IncomingMessage` of a proxied
 * WebSocket upgrade (no Fastify request exists for it: Node hands upgrades to its `upgrade`
 * listeners, outside Fastify's routing).
 */
export type FastifyResponseEvent = FastifyRequestEvent | FastifyUpgradeEvent

/** `onResponse`'s event for a forwarded request. */
export interface FastifyRequestEvent extends ExchangeEvent {
  readonly upgrade: false
  /** The client's request. */
  readonly request: FastifyRequest
}

/** `onResponse`'s event for a proxied WebSocket upgrade (`websocket: true`). */
export interface FastifyUpgradeEvent extends ExchangeEvent {
  readonly upgrade: true
  /** The client's upgrade request, as Node's `upgrade` event gave it. */
  readonly request: IncomingMessage
}

/** Where the plugin's balancer comes from: options to build one, or one the application built. */
export type StickyBalancerSource =
  | (BalancerOptions & { balancer?: never })
  | {
      /**
       * A balancer the application built with `createBalancer`, to share it or to call
       * `setPeers` and `report` on it. The plugin neither copies nor closes it.
       */
      balancer: Balancer
      peers?: never
    }

/** Options of the `sticky-fastify` plugin: the balancer's, plus the plugin's own. */
export type StickyFastifyOptions = StickyBalancerSource & StickyFastifyPluginOptions

/** Options after validation and defaults; the `proxy` keys are flattened in (see `SharedProxyOptions`). */
export interface ResolvedOptions extends ResolvedSharedProxyOptions {
  readonly balancer: Balancer
  readonly prefix: string
  readonly rewritePrefix: string
  readonly forward: boolean
  readonly websocket: boolean
  readonly replyFrom: FastifyReplyFromOptions
  readonly onResponse: ((event: FastifyResponseEvent) => void) | undefined
  readonly onError: (error: unknown, request: FastifyRequest | IncomingMessage) => void
}

/** Fastify's own `register` options: Fastify reads them, and they reach the plugin too. */
const FASTIFY_REGISTER_KEYS: readonly string[] = ['logLevel', 'logSerializers']

/**
 * Validates the plugin's options once, at registration.
 * @throws StickyConfigError naming the option and the rejected value
 */
export function resolveOptions(options: StickyFastifyOptions): ResolvedOptions {
  const { prefix, rewritePrefix, forward, websocket, proxy, replyFrom, onResponse, onError, ...rest } = options
  const source: Record<string, unknown> = { ...rest }
  for (const key of FASTIFY_REGISTER_KEYS) delete source[key]
  const balancer = resolveBalancer(source)
  if (forward !== undefined && typeof forward !== 'boolean') throw new StickyConfigError('forward', forward, 'expected a boolean')
  if (websocket !== undefined && typeof websocket !== 'boolean') throw new StickyConfigError('websocket', websocket, 'expected a boolean')
  const shared = resolveSharedProxyOptions(proxy)
  if (replyFrom !== undefined && (typeof replyFrom !== 'object' || replyFrom === null)) {
    throw new StickyConfigError('replyFrom', replyFrom, 'expected an object of @fastify/reply-from options')
  }
  if (replyFrom !== undefined && 'base' in replyFrom) {
    throw new StickyConfigError('replyFrom.base', (replyFrom as FastifyReplyFromOptions).base, 'the peer is chosen per request; list peers instead')
  }
  if (onResponse !== undefined && typeof onResponse !== 'function') throw new StickyConfigError('onResponse', onResponse, 'expected a function')
  if (onError !== undefined && typeof onError !== 'function') throw new StickyConfigError('onError', onError, 'expected a function')
  return {
    balancer,
    onResponse,
    onError: onError ?? logHookError,
    prefix: normalizePrefix('prefix', prefix),
    rewritePrefix: normalizePrefix('rewritePrefix', rewritePrefix),
    forward: forward ?? true,
    websocket: websocket ?? false,
    ...shared,
    replyFrom: { destroyAgent: true, ...replyFrom },
  }
}

/** The balancer given, or one built from the balancer options (which refuse keys they do not know). */
function resolveBalancer(source: Record<string, unknown>): Balancer {
  if (source.balancer === undefined) return createBalancer(source as unknown as BalancerOptions)
  for (const key of Object.keys(source)) {
    if (key !== 'balancer' && source[key] !== undefined) {
      throw new StickyConfigError(key, source[key], 'a balancer is given: set its options where it is created (createBalancer)')
    }
  }
  return source.balancer as Balancer
}

/** The default `onError`. */
export function logHookError(error: unknown, request: FastifyRequest | IncomingMessage): void {
  // An upgrade's IncomingMessage has no logger: Fastify's own is not at hand here, so stderr.
  if ('log' in request) request.log.error({ err: error }, 'sticky-fastify: onResponse threw')
  else console.error('sticky-fastify: onResponse threw', error)
}
