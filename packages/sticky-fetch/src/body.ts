/**
 * A request body as the handler sends it upstream. Only `none` and `buffered` can be sent twice, which is
 * what makes a retry on another peer possible.
 */
export type UpstreamBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'buffered'; readonly bytes: Uint8Array<ArrayBuffer> }
  | { readonly kind: 'stream'; readonly stream: ReadableStream<Uint8Array> }

/** Reading the client's request body failed: the client went away mid-upload, or its stream broke. */
export class ClientBodyError extends Error {
  constructor(cause: unknown) {
    super('The client request body failed', { cause })
    this.name = 'ClientBodyError'
  }
}

/** Whether `body` can be sent again after a failed attempt. */
export function isReplayable(body: UpstreamBody): boolean {
  return body.kind !== 'stream'
}

/**
 * Reads up to `limit` bytes of `request`'s body into memory so it can be replayed; a body that declares
 * a larger `Content-Length`, or turns out longer while being read, streams instead (its first chunks are
 * not lost). `limit` 0 streams every body.
 *
 * @throws ClientBodyError when the client's body fails while it is being buffered
 */
export async function prepareBody(request: Request, limit: number): Promise<UpstreamBody> {
  const stream = request.body
  if (stream === null) return { kind: 'none' }
  const declared = request.headers.get('content-length')
  if (limit === 0 || (declared !== null && !(Number(declared) <= limit))) return { kind: 'stream', stream }

  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    let read: ReadableStreamReadResult<Uint8Array>
    try {
      read = await reader.read()
    } catch (error) {
      throw new ClientBodyError(error)
    }
    const { done, value } = read
    if (done) return { kind: 'buffered', bytes: concat(chunks, size) }
    chunks.push(value)
    size += value.byteLength
    if (size > limit) return { kind: 'stream', stream: resume(chunks, reader) }
  }
}

/** An upstream body, and whether the client's side of it has failed so far. */
export interface WatchedBody {
  readonly body: UpstreamBody
  /**
   * Whether reading the client's stream failed. A fetch whose body fails rejects like a network error
   * of the peer, and runtimes disagree on what the rejection carries, so the failure is recorded where
   * it happens: on the client's side of the relay.
   */
  readonly clientFailed: () => boolean
}

/** Relays a stream body through a reader that records a failure of the client's stream. */
export function watchClientBody(body: UpstreamBody): WatchedBody {
  if (body.kind !== 'stream') return { body, clientFailed: () => false }
  let failed = false
  const reader = body.stream.getReader()
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let read: ReadableStreamReadResult<Uint8Array>
      try {
        read = await reader.read()
      } catch (error) {
        failed = true
        controller.error(new ClientBodyError(error))
        return
      }
      if (read.done) controller.close()
      else controller.enqueue(read.value)
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
  return { body: { kind: 'stream', stream }, clientFailed: () => failed }
}

/** A stream that yields `head` again and then the rest of `reader`. */
function resume(head: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = head.shift()
      if (chunk !== undefined) {
        controller.enqueue(chunk)
        return
      }
      const { done, value } = await reader.read()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}
