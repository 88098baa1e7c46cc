import { StickyConfigError } from 'sticky-core'
import type { BalancerOptions } from 'sticky-core'

/** What one upstream `fetch` looks like; the default calls the runtime's global `fetch`. */
export type UpstreamFetch = (request: Request) => Promise<Response>

/**
 * Where `X-Forwarded-For` gets the client's address. It receives the handler's own arguments, so a
 * runtime that passes connection info as the second argument (Deno's `info.remoteAddr`) can supply it.
 * Return `undefined` when the address is unknown: `X-Forwarded-For` is then passed on unchanged.
 */
export type ClientAddress = (request: Request, env: unknown, ctx: unknown) => string | undefined

/** How the handler talks to upstreams. Each option mirrors the nginx `proxy_*` directive named. */
export interface ProxyOptions {
  /**
   * Milliseconds a peer may stay silent during an attempt: to connect, to read the next chunk of the
   * request body, to send its response head. Past it the handler answers 504, counts a failure and
   * tries no other peer (the peer may be acting on the request). Waiting for the client's next chunk
   * is not the peer's silence: a slow upload never times out the peer. The response body then streams
   * without a deadline. `0` means no limit, as in every sticky adapter. Mirrors nginx
   * `proxy_read_timeout` and `proxy_send_timeout` up to the response head.
   * @default 60000
   */
  timeout?: number | undefined
  /**
   * Further peers to try after a connection failure, for idempotent requests (RFC 9110 section 9.2.2)
   * of which no body byte has left the client's stream (sticky-core's `judgeAttempt`). Mirrors nginx
   * `proxy_next_upstream_tries` minus the first try.
   * @default every other peer once (`peers.length - 1`, like `proxy_next_upstream_tries 0`)
   */
  retries?: number | undefined
  /**
   * Adds `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` to the upstream request, as
   * nginx's usual `proxy_set_header X-Forwarded-*` lines do.
   * @default true
   */
  xForwarded?: boolean | undefined
  /**
   * The client's address for `X-Forwarded-For`.
   * @default reads `CF-Connecting-IP`, which Cloudflare sets and clients cannot forge there; outside
   * Cloudflare a client can send that header itself, so supply this option (or return `undefined`).
   */
  clientAddress?: ClientAddress | undefined
  /**
   * Keeps an upstream response's `Content-Encoding` and `Content-Length`. Node's, Deno's and Bun's fetch
   * hand back the decoded body while keeping those headers, so by default they are dropped from encoded
   * responses and the client gets the decoded body. Workers re-encode a body passed through, so there
   * `true` lets the compressed bytes reach the client unchanged.
   * @default false
   */
  keepContentEncoding?: boolean | undefined
  /**
   * Sends one upstream request. Use it for a Workers service binding (`(r) => env.APP.fetch(r)`) or a
   * custom client.
   * @default the global `fetch`
   */
  fetch?: UpstreamFetch | undefined
}

/** Options of `createStickyFetch`: the balancer's (peers are origins) plus how to proxy. */
export type StickyFetchOptions = BalancerOptions & {
  proxy?: ProxyOptions | undefined
}

/** {@link ProxyOptions} with every default applied and every value checked. */
export interface ResolvedProxyOptions {
  readonly timeout: number
  /** `undefined`: every other peer once, counted when the request comes, since `setPeers` can change them. */
  readonly retries: number | undefined
  readonly xForwarded: boolean
  readonly clientAddress: ClientAddress
  readonly keepContentEncoding: boolean
  readonly fetch: UpstreamFetch
}

const cfConnectingIp: ClientAddress = (request) => request.headers.get('cf-connecting-ip') ?? undefined

// Called through a wrapper: Workers reject `fetch` invoked with a `this` other than the global scope.
const globalFetch: UpstreamFetch = (request) => fetch(request)

/**
 * Applies the defaults of {@link ProxyOptions} and validates them.
 *
 * @throws StickyConfigError naming `proxy.<option>` and the rejected value
 */
export function resolveProxyOptions(options: ProxyOptions | undefined): ResolvedProxyOptions {
  const o = options ?? {}
  return {
    timeout: count('proxy.timeout', o.timeout, 60_000),
    retries: o.retries === undefined ? undefined : count('proxy.retries', o.retries, 0),
    xForwarded: flag('proxy.xForwarded', o.xForwarded, true),
    clientAddress: callable('proxy.clientAddress', o.clientAddress, cfConnectingIp),
    keepContentEncoding: flag('proxy.keepContentEncoding', o.keepContentEncoding, false),
    fetch: callable('proxy.fetch', o.fetch, globalFetch),
  }
}

function count(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StickyConfigError(option, value, 'expected a non-negative integer')
  }
  return value
}

function flag(option: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new StickyConfigError(option, value, 'expected a boolean')
  return value
}

function callable<F extends (...args: never[]) => unknown>(option: string, value: F | undefined, fallback: F): F {
  if (value === undefined) return fallback
  if (typeof value !== 'function') throw new StickyConfigError(option, value, 'expected a function')
  return value
}
