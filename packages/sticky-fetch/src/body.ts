/**
 * A request body as the handler sends it upstream. Only `none` and `buffered` can be sent twice, which is
 * what makes a retry on another peer possible.
 */
export type UpstreamBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'buffered'; readonly bytes: Uint8Array<ArrayBuffer> }
  | { readonly kind: 'stream'; readonly stream: ReadableStream<Uint8Array> }

/** Whether `body` can be sent again after a failed attempt. */
export function isReplayable(body: UpstreamBody): boolean {
  return body.kind !== 'stream'
}

/**
 * Reads up to `limit` bytes of `request`'s body into memory so it can be replayed; a body that declares
 * a larger `Content-Length`, or turns out longer while being read, streams instead (its first chunks are
 * not lost). `limit` 0 streams every body.
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
    const { done, value } = await reader.read()
    if (done) return { kind: 'buffered', bytes: concat(chunks, size) }
    chunks.push(value)
    size += value.byteLength
    if (size > limit) return { kind: 'stream', stream: resume(chunks, reader) }
  }
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
