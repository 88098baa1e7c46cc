import type { FastifyReplyFromOptions } from '@fastify/reply-from'
import { createBalancer, StickyConfigError } from 'sticky-core'
import type { Balancer, BalancerOptions } from 'sticky-core'
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
   * `true`: proxy every request under `prefix` to the chosen peer. `false`: only decide, in an
   * `onRequest` hook that sets `request.sticky` and appends the `Set-Cookie`; the application's
   * own routes answer (and may call `balancer.report`).
   * @default true
   */
  proxy?: boolean | undefined
  /**
   * How many other peers a request may be sent to after its peer failed to connect or dropped
   * the connection (nginx `proxy_next_upstream error timeout`, `proxy_next_upstream_tries`). Only
   * idempotent requests (`GET`, `HEAD`, `OPTIONS`, `TRACE`, `PUT`, `DELETE`) whose body has not
   * started to stream are retried, and never after a peer went silent. `0` turns retries off; the
   * balancer's `exclude` keeps every attempt on a peer not tried yet.
   *
   * The default is sticky-core's `attemptBudget`: every other configured peer once, like nginx's
   * `proxy_next_upstream_tries 0`. A fixed number would either leave live peers untried in a large
   * cluster or promise retries a small one cannot give; every sticky adapter shares this default.
   * @default every other peer once (peers - 1)
   */
  retries?: number | undefined
  /**
   * Milliseconds the peer may stay silent: before its response head, while it does not take
   * the request body, and between response body chunks (nginx `proxy_read_timeout`). A peer
   * silent before its head is answered 504 and counted as failed; one silent mid-body has its
   * response cut. Time spent waiting for a slow client (uploading, or not reading) never counts.
   * `0` means no limit, as in every sticky adapter.
   * @default undefined (`@fastify/reply-from`'s default: undici's 300 s, node:http's 10 s)
   */
  timeout?: number | undefined
  /**
   * Send `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` by sticky-core's rules
   * (`forwardedFields`), in place of the client's: `For` extends the incoming chain with the
   * client's address, empty elements left out (nginx's `$proxy_add_x_forwarded_for`); `Proto` and
   * `Host` say how this proxy was reached. `false` passes the client's fields through untouched.
   * @default true
   */
  xForwarded?: boolean | undefined
  /**
   * Options for the plugin's own `@fastify/reply-from` instance (undici pool sizes, `http` agents,
   * timeouts). `destroyAgent` defaults to `true` so that closing Fastify closes the pool.
   * @default {}
   */
  replyFrom?: ReplyFromOptions | undefined
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

/** Options after validation and defaults. */
export interface ResolvedOptions {
  readonly balancer: Balancer
  readonly prefix: string
  readonly rewritePrefix: string
  readonly proxy: boolean
  /** `undefined`: the core's default budget (every other peer once), counted per request. */
  readonly retries: number | undefined
  readonly timeout: number | undefined
  readonly xForwarded: boolean
  readonly replyFrom: FastifyReplyFromOptions
}

/**
 * Validates the plugin's options once, at registration.
 * @throws StickyConfigError naming the option and the rejected value
 */
export function resolveOptions(options: StickyFastifyOptions): ResolvedOptions {
  const { prefix, rewritePrefix, proxy, retries, timeout, xForwarded, replyFrom, ...source } = options
  const balancer = 'balancer' in source && source.balancer !== undefined ? source.balancer : createBalancer(source as BalancerOptions)
  if (proxy !== undefined && typeof proxy !== 'boolean') throw new StickyConfigError('proxy', proxy, 'expected a boolean')
  if (xForwarded !== undefined && typeof xForwarded !== 'boolean') {
    throw new StickyConfigError('xForwarded', xForwarded, 'expected a boolean')
  }
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) {
    throw new StickyConfigError('retries', retries, 'expected an integer >= 0')
  }
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout >= 0)) {
    throw new StickyConfigError('timeout', timeout, 'expected a number of milliseconds >= 0 (0: no limit)')
  }
  if (replyFrom !== undefined && (typeof replyFrom !== 'object' || replyFrom === null)) {
    throw new StickyConfigError('replyFrom', replyFrom, 'expected an object of @fastify/reply-from options')
  }
  if (replyFrom !== undefined && 'base' in replyFrom) {
    throw new StickyConfigError('replyFrom.base', (replyFrom as FastifyReplyFromOptions).base, 'the peer is chosen per request; list peers instead')
  }
  return {
    balancer,
    prefix: normalizePrefix('prefix', prefix),
    rewritePrefix: normalizePrefix('rewritePrefix', rewritePrefix),
    proxy: proxy ?? true,
    retries,
    timeout,
    xForwarded: xForwarded ?? true,
    replyFrom: { destroyAgent: true, ...replyFrom },
  }
}
