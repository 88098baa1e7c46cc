import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { PassThrough, Readable } from 'node:stream'
import fc from 'fast-check'
import { fastCheckSeed } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { clientCaused } from '../src/client'
import { ClientBodyError, relayBody } from '../src/request-body'
import { checkProperty } from './_seed'

/** A request and its response on a socket that is open (never connected: nothing goes on the wire). */
function exchange(): { request: IncomingMessage; response: ServerResponse; socket: Socket } {
  const socket = new Socket()
  const request = new IncomingMessage(socket)
  return { request, response: new ServerResponse(request), socket }
}

const caused = suite('clientCaused')

const chains: ReadonlyArray<readonly [string, unknown, boolean]> = [
  ['a client body error', new ClientBodyError(new Error('aborted')), true],
  ['a client body error wrapped by reply-from', new Error('outer', { cause: new ClientBodyError(null) }), true],
  ['a peer reset with the same code an abort has', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), false],
  ['an error without a cause', new Error('x'), false],
  ['a thrown string', 'boom', false],
  ['null', null, false],
]
for (const [name, error, expected] of chains) {
  caused(`should say ${expected} for ${name} while the client is connected`, () => {
    const { request, response, socket } = exchange()
    try {
      assert.is(clientCaused(error, request, response), expected)
    } finally {
      socket.destroy()
    }
  })
}

caused('should blame the client for any error once its connection is gone', () => {
  const { request, response, socket } = exchange()
  socket.destroy()
  assert.ok(clientCaused(new Error('connect ECONNREFUSED'), request, response))
})

caused('should not blame the client for a request whose body was read to the end', async () => {
  const { request, response, socket } = exchange()
  try {
    // As Node's parser does when the body is complete.
    request.complete = true
    request.push(null)
    request.resume()
    await new Promise((resolve) => request.once('close', resolve))
    assert.ok(request.destroyed, 'Node destroys a request read to the end')
    assert.not.ok(clientCaused(new Error('peer failed'), request, response))
  } finally {
    socket.destroy()
  }
})

caused('should find a client body error at any depth of a cause chain, and never throw', () => {
  const { request, response, socket } = exchange()
  try {
    checkProperty('clientCaused', fc.nat(6), fc.boolean(), fc.anything(), (depth, client, leaf) => {
      let error: unknown = client ? new ClientBodyError(leaf) : leaf
      for (let i = 0; i < depth; i++) error = { cause: error }
      const leafIsClient = leaf instanceof ClientBodyError
      assert.is(clientCaused(error, request, response), client || leafIsClient)
    })
  } finally {
    socket.destroy()
  }
})

caused.run()

const relay = suite('relayBody')

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

relay('should pass every byte through in order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 8 }), async (chunks) => {
      const out = await bytesOf(relayBody(Readable.from(chunks.map((c) => Buffer.from(c)))))
      assert.equal([...out], chunks.flatMap((c) => [...c]))
    }),
    { seed: fastCheckSeed('relayBody bytes'), numRuns: 100 },
  )
})

relay("should fail with a ClientBodyError carrying the client stream's error", async () => {
  const source = new PassThrough()
  const relayed = relayBody(source)
  const failed = new Promise<unknown>((resolve) => relayed.once('error', resolve))
  const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET' })
  source.write('partial')
  source.destroy(aborted)
  const error = await failed
  assert.instance(error, ClientBodyError)
  assert.is((error as ClientBodyError).cause, aborted)
})

relay("should leave the client's stream open when the reader destroys the relay", async () => {
  const source = new PassThrough()
  const relayed = relayBody(source)
  relayed.destroy(new Error('the peer failed'))
  await new Promise((resolve) => relayed.once('close', resolve))
  assert.not.ok(source.destroyed)
  source.destroy()
})

relay.run()
