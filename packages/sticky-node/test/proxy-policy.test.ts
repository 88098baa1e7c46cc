import { connect as http2Connect, createSecureServer, type ClientHttp2Session, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import { withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Balancer, Peer } from 'sticky-core'
import type { ProxyResponseEvent } from '../src/proxy'
import { createStickyProxy } from '../src/proxy'
import { listenProxy } from './_server'
import { TEST_CERT, TEST_KEY } from './_tls'
import { EventLog, fetchOnce, httpUpstream, rawUpstream, until } from './_upstream'

/** A peer that answers every request on its connection with `bytes` and then closes. */
function answering(bytes: string | Buffer): ReturnType<typeof rawUpstream> {
  return rawUpstream((socket: Socket) => {
    socket.on('error', () => undefined)
    socket.once('data', () => socket.end(bytes))
  })
}

/** Whether the balancer still sends a client pinned to `peer` there (no failure counted against it). */
function usable(balancer: Balancer, peer: Peer | undefined): boolean {
  if (peer === undefined) throw new Error('no such peer')
  return balancer.decide(`route=${balancer.cookieValue(peer)}`).outcome === 'hit'
}

/** A healthy second peer, so that a failure of the first shows as a re-pin. */
function spare(): ReturnType<typeof httpUpstream> {
  return httpUpstream((req, res) => {
    req.resume()
    res.end('spare')
  })
}

const policy = suite('createStickyProxy: peers that break the protocol')

policy('should relay a response whose reason phrase holds a control byte, with the standard phrase, and stay up', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await answering('HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi'), (u) => u.close())
    const other = scope.defer(await spare(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [peer.address, other.address] }), (p) => p.close())
    const answer = await fetchOnce(proxy.url)
    assert.is(answer.status, 200)
    assert.is(answer.body.toString(), 'hi')
    assert.ok(usable(proxy.proxy.balancer, proxy.proxy.balancer.peers[0]), 'the peer is not blamed')
    assert.is((await fetchOnce(proxy.url)).status, 200, 'the proxy still serves')
  }),
)

policy('should relay a latin-1 reason phrase as it came', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await answering(Buffer.from('HTTP/1.1 200 Gr\xfc\xdfe\r\nContent-Length: 0\r\nConnection: close\r\n\r\n', 'latin1')), (u) =>
      u.close(),
    )
    const proxy = scope.defer(await listenProxy({ peers: [peer.address] }), (p) => p.close())
    const answer = await fetchOnce(proxy.url)
    assert.is(answer.status, 200)
  }),
)

policy('should answer 502 and blame a peer that answers an ordinary request with 101 Switching Protocols', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await answering('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n'), (u) => u.close())
    const other = scope.defer(await spare(), (u) => u.close())
    const log = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(await listenProxy({ peers: [peer.address, other.address], onResponse: log.push }), (p) => p.close())
    const [broken] = proxy.proxy.balancer.peers
    const answer = await fetchOnce(proxy.url, { headers: { cookie: `route=${proxy.proxy.balancer.cookieValue(broken as Peer)}` }, guardMs: 5_000 })
    assert.is(answer.status, 502)
    const [event] = await log.first(1)
    assert.is(event?.error, 'protocol')
    assert.not.ok(usable(proxy.proxy.balancer, broken), 'the peer is blamed')
  }),
)

policy('should relay past an interim 100 to a GET, unblamed, sending it again once and the next requests once', () =>
  withScope(async (scope) => {
    // Every request on a connection is answered with an unasked 100 Continue, then the answer.
    const heads: string[] = []
    const peer = scope.defer(
      await rawUpstream((socket: Socket) => {
        socket.on('error', () => undefined)
        let buffered = ''
        socket.setEncoding('latin1')
        socket.on('data', (chunk: string) => {
          buffered += chunk
          for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
            heads.push(buffered.slice(0, buffered.indexOf(' HTTP/1.1')))
            buffered = buffered.slice(end + 4)
            socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi')
          }
        })
      }),
      (u) => u.close(),
    )
    const other = scope.defer(await spare(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [peer.address, other.address], proxy: { retries: 0 } }), (p) => p.close())
    const [sending] = proxy.proxy.balancer.peers
    const cookie = `route=${proxy.proxy.balancer.cookieValue(sending as Peer)}`
    const first = await fetchOnce(`${proxy.url}/a`, { headers: { cookie } })
    assert.is(first.status, 200)
    assert.is(first.body.toString(), 'hi')
    assert.ok(usable(proxy.proxy.balancer, sending), 'the peer is not blamed')
    assert.is((await fetchOnce(`${proxy.url}/b`, { headers: { cookie } })).body.toString(), 'hi')
    // undici closed the connection on the 100 (the first /a); node:http takes the peer from then on.
    assert.equal(heads, ['GET /a', 'GET /a', 'GET /b'])
  }),
)

policy('should keep serving, and hand the error to onError, when onResponse throws', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await httpUpstream((_req, res) => res.end('fine')), (u) => u.close())
    const errors: unknown[] = []
    const proxy = scope.defer(
      await listenProxy({
        peers: [peer.address],
        onResponse: () => {
          throw new Error('a bug in the access log')
        },
        onError: (error) => errors.push(error),
      }),
      (p) => p.close(),
    )
    for (let i = 0; i < 2; i += 1) {
      const answer = await fetchOnce(proxy.url)
      assert.is(answer.status, 200)
      assert.is(answer.body.toString(), 'fine')
    }
    await until(() => errors.length === 2, 'two errors handed to onError')
    assert.match(String(errors[0]), /a bug in the access log/)
  }),
)

policy('should survive an onError that throws too', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await httpUpstream((_req, res) => res.end('fine')), (u) => u.close())
    let calls = 0
    const proxy = scope.defer(
      await listenProxy({
        peers: [peer.address],
        onResponse: () => {
          throw new Error('first')
        },
        onError: () => {
          calls += 1
          throw new Error('second')
        },
      }),
      (p) => p.close(),
    )
    assert.is((await fetchOnce(proxy.url)).status, 200)
    await until(() => calls === 1, 'onError called')
    assert.is((await fetchOnce(proxy.url)).status, 200)
  }),
)

policy('should refuse a non-function onResponse or onError', () => {
  for (const key of ['onResponse', 'onError']) {
    try {
      createStickyProxy({ peers: ['127.0.0.1:1'], [key]: 'log' })
      assert.unreachable(key)
    } catch (error) {
      assert.instance(error, TypeError)
      assert.match(String(error), new RegExp(key))
    }
  }
})

policy('should proxy an HTTP/2 client of a compat server to its pinned peer as HTTP/1.1, blaming nobody', () =>
  withScope(async (scope) => {
    const peer = scope.defer(
      await httpUpstream((req, res) => {
        req.resume()
        res.end(
          JSON.stringify({
            version: req.httpVersion,
            host: req.headers.host,
            xfh: req.headers['x-forwarded-host'],
            proto: req.headers['x-forwarded-proto'],
            names: req.rawHeaders.filter((_, i) => i % 2 === 0),
          }),
        )
      }),
      (u) => u.close(),
    )
    const proxy = createStickyProxy({ peers: [peer.address] })
    scope.defer(proxy, (p) => p.close())
    // The compatibility layer's request and response are close enough to node:http's for the proxy;
    // their types are not declared compatible.
    const listener = proxy as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void
    const server = createSecureServer({ key: TEST_KEY, cert: TEST_CERT, allowHTTP1: true }, listener)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    scope.defer(server, (s) => new Promise<void>((resolve) => s.close(() => resolve())))
    const { port } = server.address() as AddressInfo
    const session: ClientHttp2Session = http2Connect(`https://127.0.0.1:${port}`, { ca: TEST_CERT })
    scope.defer(session, (s) => void s.close())
    const { status, body, cookie } = await new Promise<{ status: number; body: string; cookie: string[] }>((resolve, reject) => {
      const stream = session.request({ ':path': '/h2', ':method': 'GET' })
      let text = ''
      let head: Record<string, unknown> = {}
      stream.setEncoding('utf8')
      stream.on('response', (h) => (head = h))
      stream.on('data', (c: string) => (text += c))
      stream.on('end', () => resolve({ status: Number(head[':status']), body: text, cookie: (head['set-cookie'] as string[] | undefined) ?? [] }))
      stream.on('error', reject)
    })
    assert.is(status, 200)
    const seen = JSON.parse(body) as { version: string; host: string; xfh: string; proto: string; names: string[] }
    assert.is(seen.version, '1.1')
    assert.is(seen.host, peer.address)
    assert.is(seen.xfh, `127.0.0.1:${port}`, "the client's :authority travels in X-Forwarded-Host")
    assert.is(seen.proto, 'https')
    assert.not.ok(
      seen.names.some((n) => n.startsWith(':')),
      'no pseudo-header reaches the peer',
    )
    assert.is(cookie.length, 1, 'the client is pinned')
    assert.ok(usable(proxy.balancer, proxy.balancer.peers[0]), 'the peer is not blamed')
  }),
)
policy.run()
