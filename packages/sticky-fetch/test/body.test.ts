import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ClientBodyError, isReplayable, prepareBody, watchClientBody } from '../src/body'
import type { UpstreamBody } from '../src/body'
import { fcParams } from './_fc'

function streamOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let next = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[next++]
      if (chunk === undefined) controller.close()
      else controller.enqueue(chunk)
    },
  })
}

function put(chunks: readonly Uint8Array[], headers: Record<string, string> = {}): Request {
  return new Request('http://proxy.test/upload', { method: 'PUT', body: streamOf(chunks), headers, duplex: 'half' } as RequestInit)
}

async function bytesOf(body: UpstreamBody): Promise<Uint8Array> {
  if (body.kind === 'none') return new Uint8Array(0)
  if (body.kind === 'buffered') return body.bytes
  return new Uint8Array(await new Response(body.stream).arrayBuffer())
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

const prepare = suite('prepareBody')

prepare('should have no body for a request without one', async () => {
  const body = await prepareBody(new Request('http://proxy.test/', { method: 'DELETE' }), 1024)
  assert.is(body.kind, 'none')
})

const cases: ReadonlyArray<{ name: string; chunks: string[]; limit: number; headers?: Record<string, string>; kind: UpstreamBody['kind'] }> = [
  { name: 'buffer a body within the limit', chunks: ['ab', 'cd'], limit: 4, kind: 'buffered' },
  { name: 'buffer an empty body', chunks: [], limit: 4, kind: 'buffered' },
  { name: 'stream a body one byte over the limit', chunks: ['ab', 'cde'], limit: 4, kind: 'stream' },
  { name: 'stream every body when the limit is 0', chunks: ['a'], limit: 0, kind: 'stream' },
  { name: 'stream without reading when Content-Length exceeds the limit', chunks: ['abcdef'], limit: 4, headers: { 'content-length': '6' }, kind: 'stream' },
  { name: 'buffer when Content-Length is within the limit', chunks: ['abc'], limit: 4, headers: { 'content-length': '3' }, kind: 'buffered' },
]
for (const { name, chunks, limit, headers, kind } of cases) {
  prepare(`should ${name}`, async () => {
    const body = await prepareBody(put(chunks.map(bytes), headers), limit)
    assert.is(body.kind, kind)
    assert.is(new TextDecoder().decode(await bytesOf(body)), chunks.join(''))
  })
}

prepare('should keep every byte and buffer exactly the bodies within the limit', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), fc.nat(300), async (chunks, limit) => {
      const size = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0)
      const body = await prepareBody(put(chunks), limit)
      assert.is(body.kind, limit > 0 && size <= limit ? 'buffered' : 'stream')
      assert.equal([...(await bytesOf(body))], chunks.flatMap((chunk) => [...chunk]))
    }),
    fcParams(),
  )
})
/** A client stream that yields `first` and then fails with `error`, as an upload cut off half-way. */
function failingAfter(first: Uint8Array, error: Error): ReadableStream<Uint8Array> {
  let sent = false
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) controller.error(error)
      else controller.enqueue(first)
      sent = true
    },
  })
}

prepare('should reject with a ClientBodyError when the client body fails while buffered', async () => {
  const cut = new Error('aborted')
  const request = new Request('http://proxy.test/upload', { method: 'PUT', body: failingAfter(bytes('ab'), cut), duplex: 'half' } as RequestInit)
  try {
    await prepareBody(request, 1024)
    assert.unreachable('expected a ClientBodyError')
  } catch (error) {
    assert.instance(error, ClientBodyError)
    assert.is((error as ClientBodyError).cause, cut)
  }
})
prepare.run()

const watch = suite('watchClientBody')

const unwatched: ReadonlyArray<UpstreamBody> = [{ kind: 'none' }, { kind: 'buffered', bytes: new Uint8Array([1, 2]) }]
for (const body of unwatched) {
  watch(`should hand a ${body.kind} body through as it is, never failed`, () => {
    const watched = watchClientBody(body)
    assert.is(watched.body, body)
    assert.is(watched.clientFailed(), false)
  })
}

watch('should relay every byte of a stream and not report a failure', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 8 }), async (chunks) => {
      const watched = watchClientBody({ kind: 'stream', stream: streamOf(chunks) })
      assert.equal([...(await bytesOf(watched.body))], chunks.flatMap((chunk) => [...chunk]))
      assert.is(watched.clientFailed(), false)
    }),
    fcParams(),
  )
})

watch("should record a failure of the client's stream and fail the relay with a ClientBodyError", async () => {
  const cut = new Error('aborted')
  const watched = watchClientBody({ kind: 'stream', stream: failingAfter(bytes('ab'), cut) })
  assert.is(watched.clientFailed(), false)
  try {
    await bytesOf(watched.body)
    assert.unreachable('expected the relay to fail')
  } catch (error) {
    assert.instance(error, ClientBodyError)
    assert.is((error as ClientBodyError).cause, cut)
  }
  assert.is(watched.clientFailed(), true)
})

watch("should pass a reader's cancel on to the client's stream, which is no failure of the client", async () => {
  let cancelled: unknown
  const source = new ReadableStream<Uint8Array>({
    cancel(reason) {
      cancelled = reason
    },
  })
  const watched = watchClientBody({ kind: 'stream', stream: source })
  if (watched.body.kind !== 'stream') throw new Error('unreachable')
  await watched.body.stream.cancel('peer failed')
  assert.is(cancelled, 'peer failed')
  assert.is(watched.clientFailed(), false)
})
watch.run()

const replayable = suite('isReplayable')

const kinds: ReadonlyArray<[UpstreamBody, boolean]> = [
  [{ kind: 'none' }, true],
  [{ kind: 'buffered', bytes: new Uint8Array(1) }, true],
  [{ kind: 'stream', stream: streamOf([]) }, false],
]
for (const [body, expected] of kinds) {
  replayable(`should ${expected ? '' : 'not '}replay a ${body.kind} body`, () => {
    assert.is(isReplayable(body), expected)
  })
}
replayable.run()
