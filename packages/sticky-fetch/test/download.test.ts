import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { watchDownload, type DownloadWatch } from '../src/download'
import { unrelayable } from '../src/responses'

const Download = suite('watchDownload')

/** A body that delivers `chunks` and then neither ends nor fails, as workerd's body of an early answer. */
function neverEnding(chunks: readonly string[]): { stream: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let cancelled = false
  let i = 0
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[i++]
        if (chunk !== undefined) controller.enqueue(new TextEncoder().encode(chunk))
        // else: nothing, ever
      },
      cancel() {
        cancelled = true
      },
    },
    { highWaterMark: 0 },
  )
  return { stream, cancelled: () => cancelled }
}

/** The text of `stream`, or `'(hung)'` if it has not ended after a guard far beyond any real wait. */
async function textOf(stream: ReadableStream<Uint8Array>): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const guard = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('(hung)'), 5_000)))
  try {
    return await Promise.race([new Response(stream).text(), guard])
  } finally {
    clearTimeout(timer)
  }
}

function watch(length: number | undefined, cut: string[]): DownloadWatch {
  return { timeout: 0, abort: () => undefined, clientGone: () => false, peerCut: () => void cut.push('cut'), length }
}

Download('should end a body once the length the peer framed arrived, though the runtime never ends it', async () => {
  const body = neverEnding(['too ', 'large'])
  const cut: string[] = []
  const text = await textOf(watchDownload(body.stream, watch(9, cut)))
  assert.is(text, 'too large')
  assert.equal(cut, [], 'a whole body is no cut')
  assert.ok(body.cancelled(), 'the runtime body is released')
})

Download('should end an empty framed body without waiting for the runtime', async () => {
  const body = neverEnding([])
  const text = await textOf(watchDownload(body.stream, watch(0, [])))
  assert.is(text, '')
  assert.ok(body.cancelled())
})

Download('should relay a body without a length until the runtime ends it', async () => {
  const stream = new Response('streamed to the end').body as ReadableStream<Uint8Array>
  assert.is(await new Response(watchDownload(stream, watch(undefined, []))).text(), 'streamed to the end')
})

Download('should blame the peer when the body fails before its length arrived', async () => {
  let sent = false
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) return controller.error(new Error('reset'))
      sent = true
      controller.enqueue(new Uint8Array([97, 98]))
    },
  })
  const cut: string[] = []
  await new Response(watchDownload(stream, watch(10, cut))).text().then(
    () => assert.unreachable('a cut body must fail for the client'),
    () => undefined,
  )
  assert.equal(cut, ['cut'])
})

const Unrelayable = suite('unrelayable')

Unrelayable("should call an unasked 101 the peer's protocol error, any other 1xx the runtime's, and a relayable head nothing", () => {
  // Node's Response refuses statuses below 200, so the runtime's objects are stood in for by their shape.
  const head = (status: number, fields: Record<string, string> = {}): Response => ({ status, headers: new Headers(fields) }) as Response
  assert.is(unrelayable(head(101)), 'peer-protocol-error')
  for (const status of [100, 102, 103, 150, 199]) assert.is(unrelayable(head(status)), 'proxy-failed', String(status))
  assert.is(unrelayable(head(200)), undefined)
  assert.is(unrelayable(head(404, { 'content-length': '5' })), undefined)
  assert.is(unrelayable(head(200, { 'content-length': '5, 5' })), undefined)
  for (const value of ['-1', '+2', '5, 6', 'abc']) assert.is(unrelayable(head(200, { 'content-length': value })), 'peer-protocol-error', value)
})

Download.run()
Unrelayable.run()
