import { contentLength } from 'sticky-core'
import { transportErrorEvent, type AttemptEvent } from 'sticky-core'
import type { ClientBody } from './client-body'
import { PeerDeadline } from './deadline'
import { editHeaders, type HeadersEdit } from './headers'
import type { UpstreamFetch } from './options'

/** The events of an attempt that brought a response head. */
export type AnsweredEvent = 'peer-answered' | 'peer-answered-early'

/** How one try at one peer ended, in sticky-core's vocabulary. */
export type AttemptOutcome =
  | {
      readonly event: AnsweredEvent
      readonly response: Response
      /** Aborts the exchange, for a response body the peer stopped sending. */
      readonly abort: (reason: Error) => void
      /** The whole body, read under the attempt's deadline (see {@link BUFFERED_BODY_LIMIT}); `undefined` when it is to be streamed. */
      readonly bytes?: ArrayBuffer | undefined
    }
  | { readonly event: Exclude<AttemptEvent, AnsweredEvent> }

/** One upstream request, described without the peer-specific URL. */
export interface AttemptInput {
  readonly method: string
  /** The client's headers, copied into each attempt's request and then edited (`upstreamRequestEdit`). */
  readonly headers: Headers
  readonly edit: HeadersEdit
  /** The client's body, shared by every attempt; `undefined` when the request has none. */
  readonly body: ClientBody | undefined
  /** Milliseconds the peer may stay silent (see {@link PeerDeadline}); 0 for no limit. */
  readonly timeout: number
  readonly fetch: UpstreamFetch
  /**
   * The client's `Request.signal`, which runtimes abort when the client disconnects: the upstream
   * request is aborted with it, before and after the head. `undefined` when the runtime gives none.
   */
  readonly clientSignal: AbortSignal | undefined
  /** Whether a small response body may be read whole before the head is relayed (not for `HEAD`). */
  readonly bufferable: boolean
}

/**
 * The largest response body read whole before its head is relayed (nginx's `proxy_buffers` hold 64 KiB
 * by default too). A Worker relays a body it holds, or the one it fetched, without running JavaScript
 * per chunk; the watched stream of a longer body costs it about as much again as the whole exchange.
 */
export const BUFFERED_BODY_LIMIT: number = 64 * 1024

/**
 * Whether the response body is read whole: one that has content (no `1xx`, `204`, `304`), the length
 * the peer framed (no content coding the runtime may have decoded), and at most {@link BUFFERED_BODY_LIMIT}.
 */
function bufferable(response: Response): boolean {
  if (response.body === null || response.status < 200 || response.status === 204 || response.status === 304) return false
  const length = framedLength(response)
  return length !== undefined && length <= BUFFERED_BODY_LIMIT
}

/**
 * The length of a response body as the peer framed it, when the body reaches the handler as framed:
 * an encoded body may have been decoded by the runtime, and then its `Content-Length` says nothing.
 */
export function framedLength(response: Response): number | undefined {
  const encoding = response.headers.get('content-encoding')
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') return undefined
  const length = contentLength(response.headers.get('content-length'))
  return typeof length === 'number' ? length : undefined
}

/**
 * Sends the request to `url` once and says what happened. Never throws: whatever `fetch` does is an
 * outcome.
 *
 * The deadline ends when the head arrives, so a long download is not cut off; a small body (see
 * {@link bufferable}, and only once the client's body was sent whole) is read whole within one more
 * window, and a body that fails or stays unfinished then is `peer-cut-response` (the client has seen
 * nothing yet). The client's signal stays linked after the head, so a client that leaves mid-download
 * stops the upstream body too.
 */
export async function attempt(url: string, input: AttemptInput): Promise<AttemptOutcome> {
  const client = input.clientSignal
  if (isAborted(client)) return { event: 'client-gone' }
  const controller = new AbortController()
  const deadline = new PeerDeadline(input.timeout, () => controller.abort(new Error('sticky-fetch: the peer stayed silent')))
  const body = input.body?.forAttempt({ awaitingClient: () => deadline.suspend(), handedOver: () => deadline.arm() })
  const init: StreamingRequestInit = { method: input.method, headers: input.headers, redirect: 'manual', signal: controller.signal }
  if (body !== undefined) {
    init.body = body.stream
    init.duplex = 'half'
  }
  let request: Request
  try {
    request = new Request(url, init)
    editHeaders(request.headers, input.edit)
  } catch {
    // The runtime refuses to build the request (a GET with a body, a field it will not send): the
    // proxy's side failed, nobody is blamed.
    body?.retire()
    return { event: 'proxy-failed' }
  }
  const onClientAbort = (): void => controller.abort(client?.reason)
  client?.addEventListener('abort', onClientAbort, { once: true })
  deadline.arm()
  try {
    const response = await input.fetch(request)
    const abort = (reason: Error): void => controller.abort(reason)
    if (body === undefined || body.ended()) {
      if (!input.bufferable || !bufferable(response)) {
        deadline.stop()
        return { event: 'peer-answered', response, abort }
      }
      // The head arrived: the peer gets a full window again for the body.
      deadline.arm()
      try {
        const bytes = await response.arrayBuffer()
        deadline.stop()
        return { event: 'peer-answered', response, abort, bytes }
      } catch {
        deadline.stop()
        client?.removeEventListener('abort', onClientAbort)
        return { event: isAborted(client) && !deadline.expired ? 'client-gone' : 'peer-cut-response' }
      }
    }
    deadline.stop()
    if (isClosing(response)) body.hold()
    return { event: 'peer-answered-early', response, abort }
  } catch (error) {
    deadline.stop()
    body?.retire()
    client?.removeEventListener('abort', onClientAbort)
    // Part of the body went and its end had not: the rejection ended an upload under way.
    const uploading = body !== undefined && input.body?.underWay(body.ended()) === true
    return { event: failure(error, deadline, client, input.body, uploading) }
  }
}

/**
 * What a rejected (or throwing) `fetch` means. Checked in this order: a peer whose deadline expired
 * was silent while it had everything it asked for, whatever the client did next; a client that left
 * or whose body broke says nothing about the peer.
 *
 * fetch does not say whether the connection was made, so a rejection is `connect-failed` while no
 * chunk of the body has been handed over, `peer-closed-during-upload` while the rest of it was still
 * to go (not blamed: see sticky-core's event), and `peer-reset` once it was all handed over. A kept-alive connection is fetch's
 * own: runtimes resend on a fresh one themselves, so `stale-connection` never comes from here.
 */
function failure(
  error: unknown,
  deadline: PeerDeadline,
  client: AbortSignal | undefined,
  body: ClientBody | undefined,
  uploading: boolean,
): Exclude<AttemptEvent, AnsweredEvent> {
  if (deadline.expired) return 'peer-silent'
  if (isAborted(client)) return 'client-gone'
  if (body?.failed === true) return 'client-body-failed'
  // Node's fetch is undici: sticky-core reads what its errors say by themselves (a refused interim
  // 100, a head that is not HTTP/1.1); workerd's say it in their message.
  const named = transportErrorEvent(error)
  if (named !== undefined) return named
  if (isMalformedInWorkerd(error)) return 'peer-protocol-error'
  if (body === undefined || body.replayable) return 'connect-failed'
  // Most often a peer that refused the upload early and closed unread: its answer went with the reset.
  return uploading ? 'peer-closed-during-upload' : 'peer-reset'
}

/**
 * Whether workerd's fetch rejected because the peer's answer was not an acceptable HTTP/1.1 head: its
 * HTTP client's parse failures reach JavaScript as `invalid ...` (an invalid `Content-Length`, chunk
 * size) or, for a head it cannot read at all (a bare CR, a field over its limits), as `internal error;
 * reference = ...`, which nothing else in a fetch of a reachable peer raises. Bytes that are not HTTP
 * at all make workerd report a lost connection ("Network connection lost."), which is then judged as
 * one.
 */
function isMalformedInWorkerd(error: unknown): boolean {
  return error instanceof Error && /^(internal error\b|invalid\b)/i.test(error.message)
}

/** Whether the peer says it closes the connection after this response (where the runtime shows `Connection`). */
function isClosing(response: Response): boolean {
  const tokens = response.headers.get('connection')
  return tokens?.split(',').some((token) => token.trim().toLowerCase() === 'close') === true
}

// A function rather than an inline test: the signal changes while `fetch` is awaited, which narrowing
// on `aborted` would not see.
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** `duplex` is required by the fetch standard for a stream body, and missing from older DOM typings. */
type StreamingRequestInit = RequestInit & { duplex?: 'half' }
