import { createBalancer, StickyConfigError } from 'sticky-core'
import type { Balancer, Decision, Peer } from 'sticky-core'
import { attempt } from './attempt'
import { ClientBodyError, isReplayable, prepareBody, watchClientBody } from './body'
import type { UpstreamBody } from './body'
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers'
import { resolveProxyOptions } from './options'
import type { ResolvedProxyOptions, StickyFetchOptions } from './options'

/**
 * A fetch handler: `export default { fetch }` in a Worker, `Deno.serve(handler)`, `Bun.serve({ fetch })`.
 * `env` and `ctx` are only passed on to `proxy.clientAddress`.
 */
export type FetchHandler = (request: Request, env?: unknown, ctx?: unknown) => Promise<Response>

/** The handler `createStickyFetch` returns, with the balancer it routes by. */
export interface StickyFetch extends FetchHandler {
  /** The balancer behind the handler: call `setPeers` on it to change the peers at run time. */
  readonly balancer: Balancer
}

/** Methods whose request may be sent twice without changing the outcome (RFC 9110 section 9.2.2). */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

/**
 * Creates a fetch handler that pins each client to one peer with a cookie and forwards the request to
 * that peer's origin (`Peer.target.origin`; a plain `ip:port` peer is reached over `http://`).
 *
 * Per request: reads the cookie, asks the balancer, forwards method, path, query, headers (without
 * hop-by-hop ones, with `X-Forwarded-*`) and body with `redirect: 'manual'`, and answers with the upstream
 * response, streamed, plus the balancer's `Set-Cookie` beside the upstream's own. A network error on an
 * idempotent request with a replayable body is retried on another peer (`proxy.retries`); every attempt is
 * reported to the balancer's passive health tracking. No usable peer: 502. No response head within
 * `proxy.timeout`: 504. When the client goes away (`request.signal` aborts, or its request body fails),
 * the upstream request is aborted too, nothing is reported against the peer, and the handler resolves
 * with a 499 nobody reads.
 *
 * @throws StickyConfigError for invalid options, including a `unix:` peer, which fetch cannot reach
 */
export function createStickyFetch(options: StickyFetchOptions): StickyFetch {
  const { proxy, ...balancerOptions } = options
  const resolved = resolveProxyOptions(proxy)
  const balancer = createBalancer(balancerOptions)
  balancer.peers.forEach((peer, index) => {
    if (peer.target.kind === 'unix') {
      throw new StickyConfigError(`peers[${index}].address`, peer.address, 'a fetch handler cannot reach a unix socket')
    }
  })
  const handler: FetchHandler = (request, env, ctx) => handle(balancer, resolved, request, env, ctx)
  return Object.assign(handler, { balancer })
}

async function handle(
  balancer: Balancer,
  proxy: ResolvedProxyOptions,
  request: Request,
  env: unknown,
  ctx: unknown,
): Promise<Response> {
  const cookieHeader = request.headers.get('cookie')
  let decision = balancer.decide(cookieHeader)
  let peer = decision.peer
  if (peer === null) return failure(502, 'no upstream available')

  const url = new URL(request.url)
  const target = url.pathname + url.search
  const retryable = IDEMPOTENT.has(request.method)
  let prepared: UpstreamBody
  try {
    prepared = retryable ? await prepareBody(request, proxy.retryBodyLimit) : bodyAsStream(request)
  } catch (error) {
    // The client left while its body was being buffered; no peer has seen the request.
    if (error instanceof ClientBodyError) return failure(499, 'client closed request')
    throw error
  }
  const { body, clientFailed } = watchClientBody(prepared)
  const headers = upstreamRequestHeaders(
    request.headers,
    proxy.xForwarded
      ? { client: proxy.clientAddress(request, env, ctx), proto: url.protocol.slice(0, -1), host: url.host }
      : undefined,
  )
  // Some runtimes hand over request objects without a signal; the type says otherwise.
  const clientSignal = (request.signal as AbortSignal | null | undefined) ?? undefined
  const input = {
    method: request.method,
    headers,
    body,
    timeout: proxy.timeout,
    fetch: proxy.fetch,
    clientSignal,
    clientBodyFailed: clientFailed,
  }

  const retries = proxy.retries ?? balancer.peers.length - 1
  const tried: Peer[] = []
  for (;;) {
    const result = peer.target.kind === 'tcp'
      ? await attempt(peer.target.origin + target, input)
      : ({ kind: 'network-error', error: undefined } as const)
    if (result.kind === 'response') {
      balancer.report(peer, true)
      return downstream(result.response, decision, proxy.keepContentEncoding)
    }
    // Nobody reads this answer, and the peer did nothing wrong: no failure is counted, no retry made.
    if (result.kind === 'client-aborted') return failure(499, 'client closed request')
    balancer.report(peer, false)
    if (result.kind === 'timeout') return failure(504, 'upstream timed out')
    tried.push(peer)
    if (!retryable || !isReplayable(body) || tried.length > retries) {
      return failure(502, 'upstream unreachable')
    }
    decision = balancer.decide(cookieHeader, { exclude: tried })
    peer = decision.peer
    if (peer === null) return failure(502, 'upstream unreachable')
  }
}

function bodyAsStream(request: Request): UpstreamBody {
  return request.body === null ? { kind: 'none' } : { kind: 'stream', stream: request.body }
}

/** The upstream response, copied because a fetched `Response` has immutable headers. */
function downstream(upstream: Response, decision: Decision, keepContentEncoding: boolean): Response {
  const headers = downstreamResponseHeaders(upstream.headers, keepContentEncoding)
  if (decision.setCookie !== null) headers.append('set-cookie', decision.setCookie)
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers })
}

const STATUS_TEXT = { 499: 'Client Closed Request', 502: 'Bad Gateway', 504: 'Gateway Timeout' } as const

/** A short plain-text answer of the handler itself; 499 is nginx's code for a client that left. */
function failure(status: keyof typeof STATUS_TEXT, reason: string): Response {
  return new Response(`${STATUS_TEXT[status]}: ${reason}\n`, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  })
}
