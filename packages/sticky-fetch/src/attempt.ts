import type { UpstreamBody } from './body'
import type { UpstreamFetch } from './options'

/** How one try at one peer ended. */
export type AttemptResult =
  | { readonly kind: 'response'; readonly response: Response }
  /** `fetch` rejected: the peer could not be reached or dropped the connection. */
  | { readonly kind: 'network-error'; readonly error: unknown }
  /** No response head within the timeout. */
  | { readonly kind: 'timeout' }
  /** The client went away (its request's signal aborted, or its body failed): says nothing about the peer. */
  | { readonly kind: 'client-aborted' }

/** One upstream request, described without the peer-specific URL. */
export interface AttemptInput {
  readonly method: string
  readonly headers: Headers
  readonly body: UpstreamBody
  /** Milliseconds to wait for the response head; 0 for no limit. */
  readonly timeout: number
  readonly fetch: UpstreamFetch
  /**
   * The client's `Request.signal`, which runtimes abort when the client disconnects: the upstream
   * request is aborted with it. `undefined` when the runtime gives none.
   */
  readonly clientSignal: AbortSignal | undefined
  /** Whether the client's request body failed while it streamed upstream (see `watchClientBody`). */
  readonly clientBodyFailed: () => boolean
}

/**
 * Sends the request to `url` once. Never throws: a rejection of `fetch` is a result.
 *
 * The deadline covers the response head only, so a long download is not cut off; it is cleared as soon
 * as the head arrives. A plain timer instead of `AbortSignal.timeout` makes that possible. The client's
 * signal stays linked after the head, so a client that leaves mid-download stops the upstream body too.
 */
export async function attempt(url: string, input: AttemptInput): Promise<AttemptResult> {
  const client = input.clientSignal
  if (isAborted(client)) return { kind: 'client-aborted' }
  const controller = new AbortController()
  const onClientAbort = (): void => controller.abort(client?.reason)
  client?.addEventListener('abort', onClientAbort, { once: true })
  let timedOut = false
  const timer = input.timeout > 0
    ? setTimeout(() => {
        timedOut = true
        controller.abort()
      }, input.timeout)
    : undefined
  try {
    const request = new Request(url, requestInit(input, controller.signal))
    return { kind: 'response', response: await input.fetch(request) }
  } catch (error) {
    client?.removeEventListener('abort', onClientAbort)
    if (timedOut) return { kind: 'timeout' }
    // Checked after the timeout: a peer that was already too slow is at fault whatever the client did.
    if (isAborted(client) || input.clientBodyFailed()) return { kind: 'client-aborted' }
    return { kind: 'network-error', error }
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}

// A function rather than an inline test: the signal changes while `fetch` is awaited, which narrowing
// on `aborted` would not see.
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

/** `duplex` is required by the fetch standard for a stream body, and missing from older DOM typings. */
type StreamingRequestInit = RequestInit & { duplex?: 'half' }

function requestInit(input: AttemptInput, signal: AbortSignal): StreamingRequestInit {
  const init: StreamingRequestInit = { method: input.method, headers: input.headers, redirect: 'manual', signal }
  const body = input.body
  if (body.kind === 'buffered') init.body = body.bytes
  else if (body.kind === 'stream') {
    init.body = body.stream
    init.duplex = 'half'
  }
  return init
}
