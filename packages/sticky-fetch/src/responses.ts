import type { AttemptError, AttemptVerdict } from 'sticky-core'
import { downstreamResponseHeaders } from './headers'

/**
 * The upstream response as the client gets it: copied, because a fetched `Response` has immutable
 * headers, with the balancer's `Set-Cookie` beside the upstream's own, and `body` (the upstream
 * body as watched by `watchDownload`).
 *
 * A reason phrase the runtime does not take back (Node's `Response` refuses anything but a
 * ByteString; a latin-1 `Grüße` arrives decoded as UTF-8 replacement characters) is dropped, as the
 * phrase carries no meaning (RFC 9112 section 4). A status no `Response` can carry (outside 200-599)
 * gives `undefined`: the peer's answer is then a protocol error, not a reason for the handler to throw.
 */
export function relayed(
  upstream: Response,
  body: ReadableStream<Uint8Array> | null,
  setCookie: string | null,
  keepContentEncoding: boolean,
): Response | undefined {
  try {
    const headers = downstreamResponseHeaders(upstream.headers, keepContentEncoding)
    if (setCookie !== null) headers.append('set-cookie', setCookie)
    const init = { status: upstream.status, statusText: upstream.statusText, headers }
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
  502: 'Bad Gateway',
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

/** A short plain-text answer of the handler itself, saying why in one line. */
export function ownAnswer(status: OwnStatus, why: AttemptError | 'unavailable'): Response {
  return new Response(`${STATUS_TEXT[status] ?? 'Error'}: ${REASONS[why] ?? 'proxy error'}\n`, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
  })
}
