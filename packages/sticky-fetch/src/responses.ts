import { contentLength, contentLengthAllowed, relayableReason, relayableStatus } from 'sticky-core'
import type { AttemptError, AttemptEvent, AttemptVerdict, RequestRefusal } from 'sticky-core'
import { downstreamResponseDrops, downstreamResponseHeaders, type RequestIdField } from './headers'

/**
 * The upstream response as the client gets it: copied, because a fetched `Response` has immutable
 * headers, with the balancer's `Set-Cookie` beside the upstream's own, and `body` (the upstream
 * body as watched by `watchDownload`).
 *
 * A reason phrase the runtime does not take back (Node's `Response` refuses anything but a
 * ByteString; a latin-1 `Grüße` arrives decoded as UTF-8 replacement characters) is dropped, as the
 * phrase carries no meaning (RFC 9112 section 4). A status no `Response` can carry (outside 200-599)
 * gives `undefined`: the peer's answer is then a protocol error, not a reason for the handler to throw.
 * Call {@link unrelayable} first.
 */
/**
 * Why a response head that the runtime's fetch resolved with cannot be relayed, in sticky-core's
 * vocabulary; `undefined` when it can.
 *
 * - A `101`: the handler never asks for an upgrade, so the peer switched protocols unasked.
 * - Any other `1xx`: the runtime took an interim response for the answer (workerd does), and the
 *   real answer is lost to it. The peer did nothing wrong: `proxy-failed`, nobody blamed.
 * - A status outside 200-599 (sticky-core's `relayableStatus`: RFC 9110 section 15 defines none
 *   beyond 599): the peer's protocol error.
 * - An invalid `Content-Length` the runtime let through (sticky-core's `contentLength`): the
 *   framing the peer meant is unknowable, its protocol error, as nginx answers 502.
 */
export function unrelayable(upstream: Response): AttemptEvent | undefined {
  if (upstream.status === 101) return 'peer-protocol-error'
  if (upstream.status >= 100 && upstream.status < 200) return 'proxy-failed'
  if (!relayableStatus(upstream.status)) return 'peer-protocol-error'
  if (contentLength(upstream.headers.get('content-length')) === 'invalid') return 'peer-protocol-error'
  return undefined
}

export function relayed(
  upstream: Response,
  body: ReadableStream<Uint8Array> | ArrayBuffer | null,
  setCookie: string | null,
  keepContentEncoding: boolean,
  carrier?: { readonly name: string | undefined; readonly value: string | null },
  requestId?: RequestIdField | undefined,
): Response | undefined {
  try {
    // A copy of the peer's headers, edited, where it will do; built field by field where it will not.
    // The copy is edited before the response is built: the Response classes some Node servers install
    // (@hono/node-server, srvx) keep the headers they are given, and a fetch response's are immutable.
    const drops = downstreamResponseDrops(upstream.headers, keepContentEncoding)
    const headers = drops === undefined ? downstreamResponseHeaders(upstream.headers, keepContentEncoding) : new Headers(upstream.headers)
    if (drops !== undefined) for (const name of drops) headers.delete(name)
    // RFC 9110 section 8.6: no Content-Length on a 204 (sticky-core's contentLengthAllowed).
    if (!contentLengthAllowed(upstream.status)) headers.delete('content-length')
    if (setCookie !== null) headers.append('set-cookie', setCookie)
    // The header carrier's pin replaces any copy the peer sent: two values would leave the client to guess.
    if (carrier?.name !== undefined && carrier.value !== null) headers.set(carrier.name, carrier.value)
    // The client sees one id, the one the proxy logged, in place of a peer's copy.
    if (requestId !== undefined) headers.set(requestId.name, requestId.value)
    // A reason phrase with a byte no head may carry (workerd passes control bytes through) is dropped.
    const statusText = relayableReason(upstream.statusText) ? upstream.statusText : ''
    const init = { status: upstream.status, statusText, headers }
    try {
      return new Response(body, init)
    } catch {
      return new Response(body, { ...init, statusText: '' })
    }
  } catch {
    return undefined
  }
}

/** The statuses the handler answers itself: sticky-core's verdict statuses; 499 is nginx's code for a client that left. */
export type OwnStatus = NonNullable<AttemptVerdict['status']>

// Keyed by number and text rather than by the core's unions, so that a status or error the core adds
// still gets an answer (the fallbacks) before this table names it.
const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  499: 'Client Closed Request',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

const REASONS: Readonly<Record<string, string>> = {
  unavailable: 'no upstream available',
  connect: 'upstream unreachable',
  timeout: 'upstream timed out',
  protocol: 'upstream sent an invalid response',
  'upstream-aborted': 'upstream cut its response',
  'client-aborted': 'client closed request',
  'client-body': 'client request body failed',
  'client-timeout': 'client request body timed out',
  proxy: 'proxy error',
}

/** A short plain-text answer of the handler itself, saying why in one line, with the request id when on. */
export function ownAnswer(status: OwnStatus, why: AttemptError | 'unavailable', requestId?: RequestIdField | undefined): Response {
  const headers = new Headers({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
  if (requestId !== undefined) headers.set(requestId.name, requestId.value)
  return new Response(`${STATUS_TEXT[status] ?? 'Error'}: ${REASONS[why] ?? 'proxy error'}\n`, { status, headers })
}

/** The handler's answer to a request sticky-core's `requestRefusal` refuses: its status, and why in one line. */
export function refusedAnswer(refusal: RequestRefusal, requestId?: RequestIdField | undefined): Response {
  const headers = new Headers({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
  if (requestId !== undefined) headers.set(requestId.name, requestId.value)
  return new Response(`${STATUS_TEXT[refusal.status] ?? 'Error'}: ${refusal.reason}\n`, { status: refusal.status, headers })
}
