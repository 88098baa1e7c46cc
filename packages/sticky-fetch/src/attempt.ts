import type { UpstreamBody } from './body'
import type { UpstreamFetch } from './options'

/** How one try at one peer ended. */
export type AttemptResult =
  | { readonly kind: 'response'; readonly response: Response }
  /** `fetch` rejected: the peer could not be reached or dropped the connection. */
  | { readonly kind: 'network-error'; readonly error: unknown }
  /** No response head within the timeout. */
  | { readonly kind: 'timeout' }

/** One upstream request, described without the peer-specific URL. */
export interface AttemptInput {
  readonly method: string
  readonly headers: Headers
  readonly body: UpstreamBody
  /** Milliseconds to wait for the response head; 0 for no limit. */
  readonly timeout: number
  readonly fetch: UpstreamFetch
}

/**
 * Sends the request to `url` once. Never throws: a rejection of `fetch` is a result.
 *
 * The deadline covers the response head only, so a long download is not cut off; it is cleared as soon
 * as the head arrives. A plain timer instead of `AbortSignal.timeout` makes that possible.
 */
export async function attempt(url: string, input: AttemptInput): Promise<AttemptResult> {
  const controller = new AbortController()
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
    return timedOut ? { kind: 'timeout' } : { kind: 'network-error', error }
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
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
