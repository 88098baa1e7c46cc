import { resolveSharedProxyOptions, StickyConfigError } from 'sticky-core'
import type { BalancerOptions, ExchangeEvent, ResolvedSharedProxyOptions, SharedProxyOptions } from 'sticky-core'

/** What one upstream `fetch` looks like; the default calls the runtime's global `fetch`. */
export type UpstreamFetch = (request: Request) => Promise<Response>

/**
 * Where the handler gets the client's address: for `X-Forwarded-For` and `Forwarded`, and to ask
 * `trustProxy` whether the client is a trusted proxy. It receives the handler's own arguments, so a
 * runtime that passes connection info as the second argument (Deno's `info.remoteAddr`) can supply it.
 * Return `undefined` when the address is unknown: the client is then trusted by no list, and its
 * `X-Forwarded-For` is left out rather than passed on (anyone could have written it).
 */
export type ClientAddress = (request: Request, env: unknown, ctx: unknown) => string | undefined

/**
 * How the handler talks to upstreams: sticky-core's `SharedProxyOptions` (`timeout`, `retries`,
 * `xForwarded`, `trustProxy`, `requestId`: the same object with the same defaults in sticky-node and sticky-fastify), plus the
 * keys below. An unknown key is a `StickyConfigError`. Each option mirrors the nginx `proxy_*`
 * directive named.
 *
 * In sticky-fetch, `timeout` covers connecting, each chunk of the request body the peer must take, the
 * response head, and each chunk of the response body while the client waits for it; waiting for the
 * client never counts.
 */
export type ProxyOptions = SharedProxyOptions & {
  /**
   * The client's address for `X-Forwarded-For`, `Forwarded` and `trustProxy`.
   * @default `CF-Connecting-IP` when the request carries Cloudflare's `request.cf` (the edge sets the
   * header and clients cannot forge it there); anywhere else `undefined`, since a client could send
   * that header itself: supply this option with the address your runtime knows.
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

/**
 * What `onResponse` receives once per request, when the exchange is over (the response body
 * relayed, cut or abandoned): sticky-core's `ExchangeEvent`, the same in sticky-node and
 * sticky-fastify, so that one logging or metrics function serves all three, plus the `request`.
 */
export interface FetchResponseEvent extends ExchangeEvent {
  /** The client's request. */
  readonly request: Request
}

/** Options of `createStickyFetch`: the balancer's (peers are origins) plus how to proxy. */
export type StickyFetchOptions = BalancerOptions & {
  proxy?: ProxyOptions | undefined
  /**
   * Called once per request when it is over, for access logs and metrics. An exception it throws
   * goes to `onError`; the request is complete either way.
   */
  onResponse?: ((event: FetchResponseEvent) => void) | undefined
  /**
   * Receives what a callback of yours threw (`onResponse`), or what the promise it returned rejected
   * with, so that a bug there never fails a request. What `onError` throws itself is dropped.
   * @default `console.error`
   */
  onError?: ((error: unknown) => void) | undefined
}

/** {@link ProxyOptions} with every default applied and every value checked. */
export interface ResolvedProxyOptions extends ResolvedSharedProxyOptions {
  /** Whether `trustProxy` names anyone: if not, no client is trusted and its address need not be asked for trust. */
  readonly trustsSome: boolean
  readonly clientAddress: ClientAddress
  readonly keepContentEncoding: boolean
  readonly fetch: UpstreamFetch
}

/**
 * `CF-Connecting-IP`, only where the runtime proves it is Cloudflare's edge (`request.cf` is set
 * there, and nowhere else): anywhere else a client could send the header and choose the address the
 * peer sees. Elsewhere the address is unknown, and no `X-Forwarded-For` is sent.
 */
const cfConnectingIp: ClientAddress = (request) => {
  // The header first: most requests have none, and reading `request.cf` costs a Worker more than a field.
  const address = request.headers.get('cf-connecting-ip')
  return address === null || (request as Request & { cf?: unknown }).cf === undefined ? undefined : address
}

// Called through a wrapper: Workers reject `fetch` invoked with a `this` other than the global scope.
const globalFetch: UpstreamFetch = (request) => fetch(request)

/** The keys of {@link ProxyOptions} that only sticky-fetch has. */
const OWN_PROXY_KEYS: readonly string[] = ['clientAddress', 'keepContentEncoding', 'fetch']

/**
 * Applies the defaults of {@link ProxyOptions} and validates them: the shared keys by sticky-core's
 * `resolveSharedProxyOptions`, which also refuses unknown ones, then sticky-fetch's own.
 *
 * @throws StickyConfigError naming `proxy.<option>` and the rejected value
 */
export function resolveProxyOptions(options: ProxyOptions | undefined): ResolvedProxyOptions {
  const shared = resolveSharedProxyOptions(options, OWN_PROXY_KEYS)
  const o = options ?? {}
  return {
    ...shared,
    trustsSome: trustsSome(o.trustProxy),
    clientAddress: callable('proxy.clientAddress', o.clientAddress, cfConnectingIp),
    keepContentEncoding: flag('proxy.keepContentEncoding', o.keepContentEncoding, false),
    fetch: callable('proxy.fetch', o.fetch, globalFetch),
  }
}

/** Whether a `trustProxy` list that sticky-core accepted names any network (it refuses empty elements). */
function trustsSome(list: ProxyOptions['trustProxy']): boolean {
  if (list === undefined) return false
  return typeof list === 'string' ? list.trim() !== '' : list.length > 0
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
