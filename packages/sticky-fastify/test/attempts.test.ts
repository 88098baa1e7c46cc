import { createServer, request } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { deadPort, send, withScope } from 'sticky-conformance'
import type { Scope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { stickyProxy } from '../src/index'
import type { ReplyFromOptions, StickyFastifyOptions } from '../src/index'
import { createApp, listen } from './_app'
import { signalled, startStalledBackend } from './_backend'
import { recordingBalancer } from './_balancer'
import { okResponse, onRequestHeads, startRawBackend } from './_raw'

const test = suite('stickyProxy: what each attempt means for the peer and the request')

/** Starts the proxy with `options` (the balancer is the test's), closed with the scope. */
async function startProxy(scope: Scope, options: StickyFastifyOptions): Promise<string> {
  const app = scope.defer(createApp(), (a) => a.close())
  await app.register(stickyProxy, options)
  return listen(app)
}

/** A node:http upstream answering with `handler`, closed with the scope. */
async function httpBackend(scope: Scope, handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  scope.defer(server, (s) => {
    s.closeAllConnections()
    return new Promise<void>((resolve) => s.close(() => resolve()))
  })
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

test('should report a success for every relayed response, whatever its status', () =>
  withScope(async (scope) => {
    const address = await httpBackend(scope, (req, res) => {
      res.statusCode = req.url === '/broken' ? 500 : 200
      res.end(req.url)
    })
    const { balancer, reports } = recordingBalancer({ peers: [address] })
    const url = await startProxy(scope, { balancer })
    assert.is((await send(url, { path: '/fine' })).status, 200)
    assert.is((await send(url, { path: '/broken' })).status, 500)
    assert.equal(reports, [
      [address, true],
      [address, true],
    ])
  }))

test('should try every other peer once by default, each on its own', () =>
  withScope(async (scope) => {
    // Every peer takes the connection and resets it as the request arrives: a fresh connection the
    // peer drops is its failure, and a GET may go to the next peer.
    const peers = await Promise.all(
      Array.from({ length: 5 }, () => startRawBackend((socket) => onRequestHeads(socket, () => socket.destroy())).then((b) => scope.defer(b, () => b.close()))),
    )
    const { balancer, reports } = recordingBalancer({ peers: peers.map((p) => p.address) })
    const url = await startProxy(scope, { balancer })
    const answer = await send(url, { path: '/x' })
    assert.is(answer.status, 502)
    assert.equal(
      peers.map((p) => p.connections()),
      [1, 1, 1, 1, 1],
      'the first peer, then each of the four others once',
    )
    assert.is(reports.length, 5)
    assert.ok(
      reports.every(([, ok]) => !ok),
      'each peer that dropped the request is blamed',
    )
  }))

test('should try exactly `retries` other peers when the option is given', () =>
  withScope(async (scope) => {
    const peers = await Promise.all(
      Array.from({ length: 4 }, () => startRawBackend((socket) => onRequestHeads(socket, () => socket.destroy())).then((b) => scope.defer(b, () => b.close()))),
    )
    const { balancer } = recordingBalancer({ peers: peers.map((p) => p.address) })
    const url = await startProxy(scope, { balancer, proxy: { retries: 1 } })
    assert.is((await send(url, { path: '/x' })).status, 502)
    assert.is(
      peers.reduce((sum, p) => sum + p.connections(), 0),
      2,
    )
  }))

const transports: ReadonlyArray<readonly [string, ReplyFromOptions]> = [
  ['undici', {}],
  ['node:http', { http: {} }],
]

for (const [transport, replyFrom] of transports) {
  for (const [how, close] of [
    ['closes', 'destroy'],
    ['resets', 'resetAndDestroy'],
  ] as const) {
    test(`should resend, on a fresh connection and without blame, a GET whose kept-alive connection the peer ${how} (${transport})`, () =>
      withScope(async (scope) => {
        // The first connection answers one request and drops the next as it arrives, as a peer whose
        // idle timeout fired just then does; later connections answer every request.
        const peer = scope.defer(
          await startRawBackend((socket, index) =>
            onRequestHeads(socket, (request) => {
              if (index === 0 && request === 1) socket[close]()
              else socket.write(okResponse(`connection ${index} request ${request}`))
            }),
          ),
          (b) => b.close(),
        )
        const { balancer, reports } = recordingBalancer({ peers: [peer.address] })
        const url = await startProxy(scope, { balancer, replyFrom })
        assert.is((await send(url, { path: '/a' })).body.toString(), 'connection 0 request 0')
        const resent = await send(url, { path: '/b' })
        assert.is(resent.status, 200)
        assert.is(resent.body.toString(), 'connection 1 request 0', 'the resend went out on a new connection')
        assert.is(peer.connections(), 2)
        assert.equal(reports, [
          [peer.address, true],
          [peer.address, true],
        ])
      }))
  }

  test(`should complete a slow upload whose pauses exceed timeout, and not blame the peer (${transport})`, () =>
    withScope(async (scope) => {
      const address = await httpBackend(scope, (req, res) => {
        let length = 0
        req.on('data', (chunk: Buffer) => (length += chunk.length))
        req.on('end', () => res.end(String(length)))
      })
      const { balancer, reports } = recordingBalancer({ peers: [address] })
      const url = await startProxy(scope, { balancer, replyFrom, proxy: { timeout: 300 } })
      async function* slowly(): AsyncIterable<Uint8Array> {
        for (let i = 0; i < 3; i += 1) {
          // The client, not the peer, is silent for longer than the timeout.
          await new Promise((resolve) => setTimeout(resolve, 700))
          yield Buffer.alloc(1024, 1)
        }
      }
      const answer = await send(url, { method: 'POST', path: '/upload', body: slowly })
      assert.is(answer.status, 200)
      assert.is(answer.body.toString(), '3072', 'the whole body reached the peer')
      assert.equal(reports, [[address, true]])
    }))

  test(`should not blame the peer while a client is slow to read a download past timeout (${transport})`, () =>
    withScope(async (scope) => {
      const SIZE = 8 * 1024 * 1024
      const address = await httpBackend(scope, (_req, res) => {
        res.writeHead(200, { 'content-length': String(SIZE) })
        res.end(Buffer.alloc(SIZE, 1))
      })
      const { balancer, reports } = recordingBalancer({ peers: [address] })
      const url = await startProxy(scope, { balancer, replyFrom, proxy: { timeout: 300 } })
      const received = await new Promise<number>((resolve, reject) => {
        const req = request(`${url}/big`, { agent: false }, (res) => {
          res.pause()
          // The client reads nothing for longer than the timeout: the proxy waits on the client, not the peer.
          setTimeout(() => {
            let length = 0
            res.on('data', (chunk: Buffer) => (length += chunk.length))
            res.on('end', () => resolve(length))
            res.on('error', reject)
            res.resume()
          }, 900)
        })
        req.on('error', reject)
        req.end()
      })
      assert.is(received, SIZE)
      assert.equal(reports, [[address, true]])
    }))
}

test('should answer 502 without blame, and send it nowhere else, when a kept-alive connection drops a request whose body already left', () =>
  withScope(async (scope) => {
    const peer = scope.defer(
      await startRawBackend((socket, index) =>
        onRequestHeads(socket, (request) => {
          if (index === 0 && request === 1) socket.destroy()
          else socket.write(okResponse('ok'))
        }),
      ),
      (b) => b.close(),
    )
    const other = scope.defer(await startRawBackend((socket) => onRequestHeads(socket, () => socket.write(okResponse('other')))), (b) => b.close())
    const { balancer, reports, cookieFor } = recordingBalancer({ peers: [peer.address, other.address] })
    const url = await startProxy(scope, { balancer })
    const cookie = cookieFor(0)
    assert.is((await send(url, { path: '/a', headers: { cookie } })).status, 200)
    const answer = await send(url, { method: 'PUT', path: '/b', headers: { cookie }, body: Buffer.from('payload') })
    assert.is(answer.status, 502)
    assert.is(other.connections(), 0, 'a body that left the client is not sent again')
    assert.equal(reports, [[peer.address, true]], 'a stale connection is no failure of the peer')
  }))

test('should send an idempotent request with a body to another peer when its body never left the client (refused connection)', () =>
  withScope(async (scope) => {
    const seen: string[] = []
    const live = await httpBackend(scope, (req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        seen.push(`${req.method ?? ''} ${Buffer.concat(chunks).toString()}`)
        res.end('stored')
      })
    })
    // maxFails 0 keeps the dead peer in service, so the POST below is still pinned to it.
    const { balancer, reports, cookieFor } = recordingBalancer({ peers: [{ address: `127.0.0.1:${await deadPort()}`, maxFails: 0 }, live] })
    const url = await startProxy(scope, { balancer })
    const answer = await send(url, { method: 'PUT', path: '/doc', headers: { cookie: cookieFor(0) }, body: Buffer.from('the whole document') })
    assert.is(answer.status, 200)
    assert.equal(seen, ['PUT the whole document'], 'the other peer got the body whole')
    assert.equal(
      reports.map(([, ok]) => ok),
      [false, true],
    )
    const post = await send(url, { method: 'POST', path: '/doc', headers: { cookie: cookieFor(0) }, body: Buffer.from('x') })
    assert.is(post.status, 502, 'a POST is never sent twice')
    assert.is(seen.length, 1)
  }))

test('should answer 504 and blame a peer that stays silent past timeout, trying no other', () =>
  withScope(async (scope) => {
    const stalled = await startStalledBackend()
    scope.defer(stalled, () => stalled.close())
    const other = scope.defer(await startRawBackend((socket) => onRequestHeads(socket, () => socket.write(okResponse('other')))), (b) => b.close())
    const { balancer, reports, cookieFor } = recordingBalancer({ peers: [stalled.address, other.address] })
    const url = await startProxy(scope, { balancer, proxy: { timeout: 200 } })
    const answer = await send(url, { path: '/slow', headers: { cookie: cookieFor(0) } })
    assert.is(answer.status, 504)
    assert.is((JSON.parse(answer.body.toString()) as { code: string }).code, 'STICKY_UPSTREAM_TIMEOUT')
    assert.is(other.connections(), 0, 'a peer that went silent may still act: not retried')
    assert.equal(reports, [[stalled.address, false]])
  }))

// Each transport ends a cut body its own way (undici's body stream, node:http's IncomingMessage).
for (const [transport, replyFrom] of transports) {
  test(`should blame a peer that cuts its response body, and cut the client's response (${transport})`, () =>
    withScope(async (scope) => {
      const address = await httpBackend(scope, (_req, res) => {
        res.writeHead(200, { 'content-length': '10' })
        res.write('12345', () => res.socket?.destroy())
      })
      const { balancer, reports } = recordingBalancer({ peers: [address] })
      const url = await startProxy(scope, { balancer, replyFrom })
      const failed = await send(url, { path: '/cut' }).then(
        () => undefined,
        (error: Error) => error,
      )
      assert.instance(failed, Error, 'the client sees its response cut')
      assert.equal(reports, [
        [address, true],
        [address, false],
      ])
    }))

  test(`should answer 502 itself when the peer cuts its response before a byte of the body went out (${transport})`, () =>
    withScope(async (scope) => {
      const peer = scope.defer(
        await startRawBackend((socket) =>
          onRequestHeads(socket, () => {
            socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Upstream: yes\r\n\r\n')
          }),
        ),
        (b) => b.close(),
      )
      const { balancer, reports } = recordingBalancer({ peers: [peer.address] })
      const url = await startProxy(scope, { balancer, replyFrom })
      const answer = await send(url, { path: '/cut' })
      assert.is(answer.status, 502)
      assert.is((JSON.parse(answer.body.toString()) as { code: string }).code, 'STICKY_UPSTREAM_INVALID')
      assert.is(answer.headers['x-upstream'], undefined, "the peer's fields do not go out with the proxy's answer")
      assert.equal(answer.setCookies, [], 'no cookie pins to a peer that failed')
      assert.equal(reports, [
        [peer.address, true],
        [peer.address, false],
      ])
    }))
}

test('should answer its own error with Connection: close while the request body is unread', () =>
  withScope(async (scope) => {
    const url = await startProxy(scope, { peers: [`127.0.0.1:${await deadPort()}`] })
    const socket = scope.defer(connect(Number(new URL(url).port), '127.0.0.1'), (s) => void s.destroy())
    socket.on('error', () => undefined)
    const closed = signalled('the proxy closing the connection after its answer')
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.once('close', () => closed.signal())
    // 10 of the 1000 bytes announced: the rest never comes.
    socket.write('POST /form HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 1000\r\n\r\n0123456789')
    await closed.done
    const head = Buffer.concat(chunks).toString('latin1').split('\r\n\r\n')[0] ?? ''
    assert.match(head, /^HTTP\/1\.1 502 /)
    assert.match(head, /^connection: close$/im)
  }))

test.run()
