import { connect } from 'node:net'
import { withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { stickyProxy } from '../src/index'
import type { FastifyResponseEvent } from '../src/index'
import { createApp, listen } from './_app'
import { startRawBackend } from './_raw'

const test = suite("requests refused as nginx refuses them (sticky-core's requestRefusal)")

/** Sends `text` on a fresh connection and reads until the proxy closes it: the status and the body. */
function exchange(url: string, text: string): Promise<{ status: number; body: string }> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname, () => socket.write(text))
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const received = Buffer.concat(chunks).toString('latin1')
      const [head = '', body = ''] = received.split('\r\n\r\n')
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body })
    })
  })
}

const WS = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'

// What node:http lets through to Fastify: it refuses two Transfer-Encoding lines and an invalid
// Content-Length itself, before any handler runs.
const cases: ReadonlyArray<{ name: string; request: string; status: number; code: string }> = [
  { name: 'two Host headers', request: 'GET /h HTTP/1.1\r\nHost: good\r\nHost: evil\r\n\r\n', status: 400, code: 'STICKY_BAD_REQUEST' },
  { name: 'two Host headers of the same value', request: 'GET /h HTTP/1.1\r\nHost: good\r\nhost: good\r\n\r\n', status: 400, code: 'STICKY_BAD_REQUEST' },
  {
    name: 'a transfer coding before chunked',
    request: 'POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    status: 501,
    code: 'STICKY_UNSUPPORTED_CODING',
  },
]
for (const { name, request, status, code } of cases) {
  test(`should refuse ${name} with ${status} without contacting the peer, and close the connection`, () =>
    withScope(async (scope) => {
      const peer = scope.defer(await startRawBackend((socket) => socket.destroy()), (b) => b.close())
      const events: FastifyResponseEvent[] = []
      const app = scope.defer(createApp(), (a) => a.close())
      await app.register(stickyProxy, { peers: [peer.address], onResponse: (event) => events.push(event as FastifyResponseEvent) })
      const url = await listen(app)
      const answer = await exchange(url, request)
      assert.is(answer.status, status)
      assert.is((JSON.parse(answer.body) as { code: string }).code, code)
      assert.is(peer.connections(), 0)
      for (let i = 0; i < 500 && events.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      assert.equal([events[0]?.status, events[0]?.error, events[0]?.attempts], [status, 'rejected', 0])
    }))
}

test('should still accept one Host and exactly chunked, in any case', () =>
  withScope(async (scope) => {
    const peer = scope.defer(
      await startRawBackend((socket) => socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'))),
      (b) => b.close(),
    )
    const app = scope.defer(createApp(), (a) => a.close())
    await app.register(stickyProxy, { peers: [peer.address] })
    const url = await listen(app)
    const answer = await exchange(url, 'POST /t HTTP/1.1\r\nHOST: x\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n')
    assert.is(answer.status, 200)
    assert.is(peer.connections(), 1)
  }))

for (const [what, framing] of [
  ['a Content-Length body', 'Content-Length: 5\r\n\r\nhello'],
  ['a chunked body', 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
] as const) {
  test(`should refuse a WebSocket upgrade with ${what} with 400, without contacting the peer`, () =>
    withScope(async (scope) => {
      const peer = scope.defer(await startRawBackend((socket) => socket.destroy()), (b) => b.close())
      const events: unknown[] = []
      const app = scope.defer(createApp(), (a) => a.close())
      await app.register(stickyProxy, { peers: [peer.address], websocket: true, onResponse: (event) => events.push(event) })
      const url = await listen(app)
      const answer = await exchange(url, `GET /ws HTTP/1.1\r\nHost: x\r\n${WS}${framing}`)
      assert.is(answer.status, 400)
      assert.is(answer.body, 'an upgrade request cannot carry a body\n')
      assert.is(peer.connections(), 0)
      for (let i = 0; i < 500 && events.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      const event = events[0] as FastifyResponseEvent | undefined
      assert.equal([event?.status, event?.error, event?.attempts, event?.upgrade], [400, 'rejected', 0, true])
    }))
}

test.run()
