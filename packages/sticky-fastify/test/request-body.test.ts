import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { PassThrough, Readable } from 'node:stream'
import fc from 'fast-check'
import { fastCheckSeed } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { clientGone } from '../src/client'
import { ClientBody, ClientBodyError } from '../src/request-body'

const body = suite('ClientBody')

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** The next chunk `stream` yields, read the way a transport reads: on demand. */
function nextChunk(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    stream.once('data', (chunk: Buffer) => {
      stream.pause()
      resolve(chunk)
    })
    stream.once('error', reject)
  })
}

body('should pass every byte through in order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 8 }), async (chunks) => {
      const out = await bytesOf(new ClientBody(Readable.from(chunks.map((c) => Buffer.from(c)))).open())
      assert.equal(
        [...out],
        chunks.flatMap((c) => [...c]),
      )
    }),
    { seed: fastCheckSeed('ClientBody bytes'), numRuns: 100 },
  )
})

body('should take nothing from the client until a transport reads, so an unread body is sent again whole', async () => {
  const source = new PassThrough()
  source.end('the whole body')
  const client = new ClientBody(source)
  const refused = client.open()
  assert.ok(client.replayable, 'opening a stream takes nothing')
  refused.destroy(new Error('connect ECONNREFUSED'))
  await new Promise((resolve) => refused.once('close', resolve))
  assert.ok(client.replayable, 'a transport that failed before reading took nothing')
  assert.is((await bytesOf(client.open())).toString(), 'the whole body')
  assert.not.ok(client.replayable, 'the body left the client')
})

body('should stop being replayable with the first chunk a transport reads', async () => {
  const source = new PassThrough()
  const client = new ClientBody(source)
  const leg = client.open()
  source.write('first')
  assert.ok(client.replayable)
  assert.is((await nextChunk(leg)).toString(), 'first')
  assert.not.ok(client.replayable)
  leg.destroy()
  source.destroy()
})

body('should say when the transport waits for the client, and when it has read the whole body', async () => {
  const source = new PassThrough()
  const client = new ClientBody(source)
  const leg = client.open()
  assert.not.ok(client.awaitingClient, 'nobody asked for the body yet')
  const first = nextChunk(leg)
  await new Promise((resolve) => setImmediate(resolve))
  assert.ok(client.awaitingClient, 'the transport asked, the client sent nothing')
  source.write('a')
  await first
  assert.not.ok(client.awaitingClient, 'the client delivered')
  source.end()
  leg.resume()
  await new Promise((resolve) => leg.once('end', resolve))
  assert.not.ok(client.awaitingClient, 'a body that ended is awaited no more')
  assert.ok(client.sent)
})

body("should fail the transport's stream with a ClientBodyError carrying the client stream's error", async () => {
  const source = new PassThrough()
  const leg = new ClientBody(source).open()
  const failed = new Promise<unknown>((resolve) => leg.once('error', resolve))
  leg.resume()
  const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET' })
  source.write('partial')
  source.destroy(aborted)
  const error = await failed
  assert.instance(error, ClientBodyError)
  assert.is((error as ClientBodyError).cause, aborted)
})

body("should leave the client's stream open when the transport destroys its stream", async () => {
  const source = new PassThrough()
  const leg = new ClientBody(source).open()
  leg.destroy(new Error('the peer failed'))
  await new Promise((resolve) => leg.once('close', resolve))
  assert.not.ok(source.destroyed)
  source.destroy()
})

body.run()

const gone = suite('clientGone')

/** A request and its response on a socket that is open (never connected: nothing goes on the wire). */
function exchange(): { request: IncomingMessage; response: ServerResponse; socket: Socket } {
  const socket = new Socket()
  const request = new IncomingMessage(socket)
  return { request, response: new ServerResponse(request), socket }
}

gone('should say no while the client is connected', () => {
  const { request, response, socket } = exchange()
  try {
    assert.not.ok(clientGone(request, response))
  } finally {
    socket.destroy()
  }
})

gone('should say yes once its connection is gone', () => {
  const { request, response, socket } = exchange()
  socket.destroy()
  assert.ok(clientGone(request, response))
})

gone('should say no for a request whose body was read to the end', async () => {
  const { request, response, socket } = exchange()
  try {
    // As Node's parser does when the body is complete.
    request.complete = true
    request.push(null)
    request.resume()
    await new Promise((resolve) => request.once('close', resolve))
    assert.ok(request.destroyed, 'Node destroys a request read to the end')
    assert.not.ok(clientGone(request, response))
  } finally {
    socket.destroy()
  }
})

gone.run()
