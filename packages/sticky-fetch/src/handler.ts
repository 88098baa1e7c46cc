import { callHook, contentLength, createBalancer, judgeAttempt, pathOf, requestIdFor, requestRefusal, StickyConfigError } from 'sticky-core'
import type { AttemptEvent, AttemptFacts, Balancer, Decision, ExchangeError, Peer } from 'sticky-core'
import { attempt, framedLength } from './attempt'
import type { AttemptInput } from './attempt'
import { ClientBody } from './client-body'
import { watchDownload } from './download'
import { upstreamRequestEdit, valueOf, type Field } from './headers'
import { resolveProxyOptions } from './options'
import type { FetchResponseEvent, ResolvedProxyOptions, StickyFetchOptions } from './options'
import { ownAnswer, refusedAnswer, relayed, unrelayable, type OwnStatus } from './responses'

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

/** A new request id: the runtime's random UUID (Workers, Deno, Bun and Node all have `crypto.randomUUID`). */
const newRequestId = (): string => crypto.randomUUID()

/** The verdict on a failure of the handler's own side (its facts do not matter to it). */
const PROXY_FAILED = judgeAttempt('proxy-failed', { method: 'GET', bodyReplayable: false, tried: 1, retries: 0, peers: 1, resent: false })

/**
 * Creates a fetch handler that pins each client to one peer with a cookie and forwards the request to
 * that peer's origin (`Peer.target.origin`; a plain `ip:port` peer is reached over `http://`).
 *
 * Per request: reads the cookie, asks the balancer, forwards method, path, query, headers (without
 * hop-by-hop ones, with `X-Forwarded-*`) and the body, streamed, with `redirect: 'manual'`, and answers
 * with the upstream response, streamed, plus the balancer's `Set-Cookie` beside the upstream's own.
 * What each attempt means is sticky-core's `judgeAttempt`: whom to blame or credit, whether to try
 * another peer, and the handler's own status (502, 504, 400, or 499 for a client that left). The
 * returned promise never rejects: whatever a peer sends, the client gets a response.
 *
 * @throws StickyConfigError for invalid options, including a `unix:` peer, which fetch cannot reach
 */
export function createStickyFetch(options: StickyFetchOptions): StickyFetch {
  const { proxy, onResponse, onError, ...balancerOptions } = options
  const resolved = resolveProxyOptions(proxy)
  const hooks = resolveHooks(onResponse, onError)
  const balancer = createBalancer(balancerOptions)
  balancer.peers.forEach((peer, index) => {
    if (peer.target.kind === 'unix') {
      throw new StickyConfigError(`peers[${index}].address`, peer.address, 'a fetch handler cannot reach a unix socket')
    }
  })
  // Not reached by anything a peer or a client does (those are attempt outcomes); a last guard so
  // that a bug, or a throwing `clientAddress`, still answers instead of rejecting: sticky-core's
  // `proxy-failed`, which blames nobody. A `catch` on the promise rather than an async wrapper: one
  // promise less per request (`proxyRequest` is async, so it never throws synchronously).
  const failed = (): Response => ownAnswer(PROXY_FAILED.status ?? 502, PROXY_FAILED.error ?? 'proxy')
  const handler: FetchHandler = (request, env, ctx) => proxyRequest(balancer, resolved, hooks, request, env, ctx).catch(failed)
  return Object.assign(handler, { balancer })
}

async function proxyRequest(balancer: Balancer, proxy: ResolvedProxyOptions, hooks: Hooks, request: Request, env: unknown, ctx: unknown): Promise<Response> {
  const started = Date.now()
  // The client's address, asked of `proxy.clientAddress` at most once and only when a rule needs it:
  // `X-Forwarded-For` and `Forwarded` name it, and a trust list asks whether it is a trusted proxy.
  let client: { readonly address: string | undefined } | undefined
  const clientAddress = (): string | undefined => {
    client ??= { address: proxy.clientAddress(request, env, ctx) }
    return client.address
  }
  const trusted = (): boolean => proxy.trustsSome && proxy.trustProxy.trusts(clientAddress())
  const requestId =
    proxy.requestId === undefined ? undefined : { name: proxy.requestId, value: requestIdFor(request.headers.get(proxy.requestId), trusted(), newRequestId) }
  // The client's fields, read once for every rule below (each read of a runtime's Headers costs a call per field).
  const fields: Field[] = [...request.headers]
  const cookieHeader = valueOf(fields, 'cookie')
  // The header carrier (`header` option): its request value is read once, for every decision.
  const carried = balancer.header === undefined ? undefined : request.headers.get(balancer.header)
  let decision = balancer.decide(cookieHeader, { header: carried })
  const tried: Peer[] = []
  const done = (status: number, error: ExchangeError | undefined): void => {
    if (hooks.onResponse === undefined) return
    const event: FetchResponseEvent = {
      request,
      method: request.method,
      path: pathOf(safePath(request.url)),
      decision,
      outcome: decision.outcome,
      status,
      peer: tried[tried.length - 1] ?? null,
      attempts: tried.length,
      durationMs: Date.now() - started,
      error,
      upgrade: false,
      requestId: requestId?.value,
    }
    callHook(hooks.onResponse, event, hooks.onError)
  }
  const own = (status: number, error: ExchangeError): Response => {
    done(status, error)
    return ownAnswer(status as OwnStatus, error === 'rejected' ? 'client-body' : error, requestId)
  }

  // sticky-core's request rules, over what a fetch Request shows: its Headers join repeated fields, so a
  // second Host line is not seen here (one value `a, b`), differing Content-Length lines are (one list),
  // and two Transfer-Encoding lines are one coding list (501). workerd's listener passes a negative
  // Content-Length through, and the body would never end.
  const refusal = requestRefusal(fields)
  if (refusal !== undefined) {
    done(refusal.status, 'rejected')
    return refusedAnswer(refusal, requestId)
  }
  let peer = decision.peer
  if (peer === null) return own(decision.status ?? 502, 'unavailable')

  const url = new URL(request.url)
  const target = url.pathname + url.search
  const xf = proxy.xForwarded
  const forwarded =
    xf.for || xf.proto || xf.host || xf.forwarded === true
      ? {
          // Only `X-Forwarded-For` and `Forwarded` name the client: without them it is asked only for trust.
          client: xf.for || xf.forwarded === true ? clientAddress() : undefined,
          proto: url.protocol.slice(0, -1),
          host: url.host,
          select: xf,
          trusted: trusted(),
        }
      : undefined
  // Some runtimes hand over request objects without a signal; the type says otherwise.
  const clientSignal = (request.signal as AbortSignal | null | undefined) ?? undefined
  const method = request.method
  const requestBody = request.body
  const body = requestBody === null ? undefined : new ClientBody(requestBody, contentLength(request.headers.get('content-length')))
  const input: AttemptInput = {
    method,
    headers: request.headers,
    edit: upstreamRequestEdit(fields, forwarded, requestId),
    body,
    timeout: proxy.timeout,
    fetch: proxy.fetch,
    clientSignal,
    bufferable: method !== 'HEAD',
  }

  tried.push(peer)
  let resent = false
  const facts = (): AttemptFacts => ({
    method,
    bodyReplayable: body === undefined || body.replayable,
    tried: tried.length,
    retries: proxy.retries,
    peers: balancer.peers.length,
    resent,
  })
  for (;;) {
    // A `unix:` peer can only come from `setPeers`: fetch cannot reach it, so it fails to connect.
    const outcome = peer.target.kind === 'tcp' ? await attempt(peer.target.origin + target, input) : ({ event: 'connect-failed' } as const)
    let event: AttemptEvent = outcome.event
    let response: Response | undefined
    let download: ReadableStream<Uint8Array> | null = null
    if ('response' in outcome) {
      const answered = peer
      download =
        outcome.response.body === null || outcome.bytes !== undefined
          ? null
          : watchDownload(outcome.response.body, {
              timeout: proxy.timeout,
              abort: outcome.abort,
              clientGone: () => clientSignal?.aborted === true,
              length: framedLength(outcome.response),
              // After the head went out, the verdict's only deed is the blame: the client's response is cut.
              // The body of an early answer that breaks off is the reset of the unread upload taking it.
              peerCut: () => {
                const cut = outcome.event === 'peer-answered-early' ? 'peer-closed-during-upload' : 'peer-cut-response'
                if (judgeAttempt(cut, facts()).blame) balancer.report(answered, false)
              },
              finished: (how) => {
                if (response !== undefined) done(response.status, how === 'cut' ? 'upstream-aborted' : how === 'cancelled' ? 'client-aborted' : undefined)
              },
            })
      const refused = unrelayable(outcome.response)
      response =
        refused === undefined
          ? relayed(
              outcome.response,
              outcome.bytes ?? download,
              decision.setCookie,
              proxy.keepContentEncoding,
              { name: balancer.header, value: decision.headerValue },
              requestId,
            )
          : undefined
      if (response === undefined) {
        event = refused ?? 'peer-protocol-error'
        void download?.cancel().catch(() => undefined)
      }
    }
    const verdict = judgeAttempt(event, facts())
    if (verdict.blame) balancer.report(peer, false)
    if (verdict.credit) balancer.report(peer, true)

    if (verdict.next === 'relay' && response !== undefined) {
      if (download === null) done(response.status, undefined)
      return response
    }
    if (verdict.next === 'resend-same') {
      resent = true
      continue
    }
    if (verdict.next === 'retry-other') {
      decision = next(balancer, cookieHeader, tried, carried)
      if (decision.peer !== null) {
        peer = decision.peer
        tried.push(peer)
        resent = false
        continue
      }
    }
    return own(verdict.status ?? 502, verdict.error ?? 'protocol')
  }
}

/** The callbacks of {@link StickyFetchOptions}, checked. */
interface Hooks {
  readonly onResponse: ((event: FetchResponseEvent) => void) | undefined
  readonly onError: (error: unknown) => void
}

function resolveHooks(onResponse: StickyFetchOptions['onResponse'], onError: StickyFetchOptions['onError']): Hooks {
  if (onResponse !== undefined && typeof onResponse !== 'function') throw new StickyConfigError('onResponse', onResponse, 'expected a function')
  if (onError !== undefined && typeof onError !== 'function') throw new StickyConfigError('onError', onError, 'expected a function')
  return { onResponse, onError: onError ?? ((error: unknown) => console.error('sticky-fetch: onResponse threw', error)) }
}

/** The path and query of a request URL (the handler's requests always carry an absolute URL). */
function safePath(url: string): string {
  try {
    const parsed = new URL(url)
    return parsed.pathname + parsed.search
  } catch {
    return ''
  }
}

/** The balancer's choice among the peers not tried yet for this request. */
function next(balancer: Balancer, cookieHeader: string | null, tried: readonly Peer[], carried: string | null | undefined): Decision {
  return balancer.decide(cookieHeader, { exclude: tried, header: carried })
}
