import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ClientBody, ClientBodyError } from '../src/client-body'
import type { BodyPace } from '../src/client-body'
import { scriptedBody } from './_client'
import { fcParams } from './_fc'

const test = suite('ClientBody')

const quiet: BodyPace = { awaitingClient: () => undefined, handedOver: () => undefined }

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

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  return [...new Uint8Array(await new Response(stream).arrayBuffer())]
}

test('should relay every byte, and stay replayable exactly while no byte was handed over', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 32 }), { maxLength: 6 }), async (chunks) => {
      const body = new ClientBody(streamOf(chunks))
      assert.is(body.replayable, true)
      const attempt = body.forAttempt(quiet)
      assert.equal(
        await bytesOf(attempt.stream),
        chunks.flatMap((chunk) => [...chunk]),
      )
      assert.is(attempt.ended(), true)
      assert.is(
        body.replayable,
        chunks.every((chunk) => chunk.byteLength === 0),
      )
      assert.is(body.failed, false)
    }),
    fcParams(),
  )
})

test('should hand a read still pending when an attempt is retired to the next attempt', async () => {
  const client = scriptedBody()
  const body = new ClientBody(client.stream)
  const first = body.forAttempt(quiet)
  const firstReader = first.stream.getReader()
  const pending = firstReader.read()
  await new Promise((resolve) => setTimeout(resolve, 0))
  assert.is(client.pulls(), 1, 'the first attempt asked the client')
  first.retire()
  const second = body.forAttempt(quiet)
  const secondBytes = bytesOf(second.stream)
  client.send('abc')
  client.end()
  assert.equal(await secondBytes, [0x61, 0x62, 0x63], 'no byte lost, none twice')
  void pending.catch(() => undefined)
})

test('should keep a read that completed for a retired attempt for the next one', async () => {
  const client = scriptedBody()
  const body = new ClientBody(client.stream)
  const first = body.forAttempt(quiet)
  const pending = first.stream.getReader().read()
  await new Promise((resolve) => setTimeout(resolve, 0))
  first.retire()
  client.send('abc')
  client.end()
  await new Promise((resolve) => setTimeout(resolve, 10))
  assert.is(body.replayable, true, 'the chunk was never handed to an attempt')
  assert.equal(await bytesOf(body.forAttempt(quiet).stream), [0x61, 0x62, 0x63])
  void pending.catch(() => undefined)
})

test("should record a failure of the client's stream and fail the attempt with a ClientBodyError", async () => {
  const client = scriptedBody()
  const body = new ClientBody(client.stream)
  const attempt = body.forAttempt(quiet)
  const read = bytesOf(attempt.stream).catch((error: unknown) => error)
  const cut = new Error('aborted')
  client.fail(cut)
  const error = await read
  assert.instance(error, ClientBodyError)
  assert.is((error as ClientBodyError).cause, cut)
  assert.is(body.failed, true)
})

test('should tell the deadline whose turn it is: the client while it waits, the peer once a chunk is handed over', async () => {
  const turns: string[] = []
  const client = scriptedBody()
  const body = new ClientBody(client.stream)
  const reader = body.forAttempt({ awaitingClient: () => turns.push('client'), handedOver: () => turns.push('peer') }).stream.getReader()
  const read = reader.read()
  await new Promise((resolve) => setTimeout(resolve, 0))
  assert.equal(turns, ['client'])
  client.send('a')
  await read
  assert.equal(turns, ['client', 'peer'])
})

test.run()
