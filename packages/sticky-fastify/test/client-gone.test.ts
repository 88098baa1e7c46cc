import { createServer } from 'node:http'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { createBalancer } from 'sticky-core'
import type { Balancer } from 'sticky-core'
import { send, withScope } from 'sticky-conformance'
import type { Scope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { stickyProxy } from '../src/index'
import type { ReplyFromOptions } from '../src/index'
import { createApp, listen } from './_app'
import { signalled, startStalledBackend, startTrackedBackend } from './_backend'
import { recordingBalancer } from './_balancer'

const test = suite('stickyProxy: a client that goes away')

/** Opens a raw connection to the proxy, closed with the scope. */
async function rawClient(scope: Scope, url: string): Promise<Socket> {
  const socket = scope.defer(connect(Number(new URL(url).port), '127.0.0.1'), (s) => void s.destroy())
  socket.on('error', () => undefined)
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  return socket
}

/** The cookie header that pins a client to the balancer's first peer. */
function pinToFirst(balancer: Balancer): string {
  const peer = balancer.peers[0]
  if (peer === undefined) throw new Error('unreachable')
  return `route=${balancer.cookieValue(peer)}`
}

const transports: ReadonlyArray<readonly [string, ReplyFromOptions]> = [
  ['undici', {}],
  ['node:http', { http: {} }],
]

for (const [transport, replyFrom] of transports) {
  test(`should count no failure and try no other peer when the client aborts its upload (${transport})`, () =>
    withScope(async (scope) => {
      const stalled = await startStalledBackend()
      scope.defer(stalled, () => stalled.close())
      const other = await startTrackedBackend('other')
      scope.defer(other, () => other.close())
      const balancer = createBalancer({ peers: [stalled.address, other.address] })
      const app = createApp()
      scope.defer(app, () => app.close())
      const answered = signalled<number>('the proxy answering the aborted upload')
      app.addHook('onSend', (_request, reply, payload, done) => {
        answered.signal(reply.statusCode)
        done(null, payload)
      })
      await app.register(stickyProxy, { balancer, replyFrom })
      const url = await listen(app)
      const cookie = pinToFirst(balancer)

      const socket = await rawClient(scope, url)
      socket.write(`POST /upload HTTP/1.1\r\nHost: shop.example\r\nCookie: ${cookie}\r\nContent-Length: 1000\r\n\r\n0123456789`)
      await stalled.arrived
      socket.destroy()
      const status = await answered.done

      assert.is(balancer.decide(cookie).outcome, 'hit', 'the peer the client left is still usable')
      assert.is(other.seen.length, 0, 'the request was not sent to another peer')
      assert.is(status, 499, "nginx's status for a client that closed the request")
    }))
}

for (const [transport, replyFrom] of transports) {
  test(`should count no failure when the client leaves in the middle of a download (${transport})`, () =>
    withScope(async (scope) => {
      const over = signalled('the peer seeing its response end')
      const streaming = createServer((_req, res) => {
        res.writeHead(200, { 'content-length': String(1024 * 1024) })
        // Half of the body, then nothing: the client leaves while the rest is awaited.
        res.write(Buffer.alloc(512 * 1024, 1))
        res.once('close', () => over.signal())
      })
      await new Promise<void>((resolve) => streaming.listen(0, '127.0.0.1', () => resolve()))
      scope.defer(streaming, (s) => {
        s.closeAllConnections()
        return new Promise<void>((resolve) => s.close(() => resolve()))
      })
      const address = streaming.address()
      if (address === null || typeof address === 'string') throw new Error('unreachable')
      const { balancer, reports } = recordingBalancer({ peers: [`127.0.0.1:${address.port}`] })
      const app = createApp()
      scope.defer(app, () => app.close())
      await app.register(stickyProxy, { balancer, replyFrom })
      const url = await listen(app)

      const socket = await rawClient(scope, url)
      socket.write('GET /download HTTP/1.1\r\nHost: shop.example\r\n\r\n')
      await new Promise((resolve) => socket.once('data', resolve))
      socket.destroy()
      await over.done

      assert.equal(reports, [[`127.0.0.1:${address.port}`, true]], 'the answer counted, the client leaving did not')
    }))
}

test('should answer 502 without blaming the peer when it resets an upload the client is still sending (a refused upload whose answer the reset may have taken)', () =>
  withScope(async (scope) => {
    const reset = signalled('the peer resetting the upload')
    const resetting = createServer((req) => {
      req.once('data', () => {
        req.socket.destroy()
        reset.signal()
      })
    })
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', () => resolve()))
    scope.defer(resetting, (s) => new Promise<void>((resolve) => s.close(() => resolve())))
    const address = resetting.address()
    if (address === null || typeof address === 'string') throw new Error('unreachable')
    const other = await startTrackedBackend('other')
    scope.defer(other, () => other.close())
    const balancer = createBalancer({ peers: [`127.0.0.1:${address.port}`, other.address] })
    const app = createApp()
    scope.defer(app, () => app.close())
    await app.register(stickyProxy, { balancer })
    const url = await listen(app)
    const cookie = pinToFirst(balancer)

    async function* upload(): AsyncIterable<Uint8Array> {
      yield Buffer.from('first chunk')
      await reset.done
      yield Buffer.from('the rest, sent after the peer failed')
    }
    const answer = await send(url, { method: 'PUT', path: '/upload', headers: { cookie }, body: upload })
    assert.is(answer.status, 502, 'the client, still connected, gets the gateway error')
    // The client's upload is what the peer closed on: counting it would let any client take peers out.
    assert.is(balancer.decide(cookie).outcome, 'hit', 'the reset during the upload is not counted against the peer')
    assert.is(other.seen.length, 0, 'a streamed body is not replayed')
  }))

test.run()
