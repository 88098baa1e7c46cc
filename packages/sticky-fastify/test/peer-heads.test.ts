import type { Socket } from 'node:net'
import { send, withScope } from 'sticky-conformance'
import type { Answer, Scope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { stickyProxy } from '../src/index'
import type { ReplyFromOptions } from '../src/index'
import { createApp, listen } from './_app'
import { signalled } from './_backend'
import { recordingBalancer } from './_balancer'
import { okResponse, onRequestHeads, startRawBackend } from './_raw'
import type { RawBackend } from './_raw'

/**
 * Response heads that are no HTTP/1.1, and interim responses, from real `node:net` peers: what the
 * client gets, whom the balancer blames, and that the request goes nowhere else.
 */
const test = suite('stickyProxy: response heads a peer gets wrong, and interim responses')

/** A raw peer that answers every request head with `bytes` and then holds the connection open. */
async function answering(scope: Scope, bytes: string, closed?: () => void): Promise<RawBackend> {
  return scope.defer(
    await startRawBackend((socket: Socket) => {
      if (closed !== undefined) socket.once('close', closed)
      onRequestHeads(socket, () => socket.write(bytes, 'latin1'))
    }),
    (b) => b.close(),
  )
}

/** A well-behaved raw peer, to see whether a request was sent to it. */
async function bystander(scope: Scope): Promise<RawBackend> {
  return answering(scope, okResponse('bystander'))
}

/** The proxy before `peers`, with `retries: 1` so that a retried request would reach the bystander. */
async function startProxy(
  scope: Scope,
  peers: readonly string[],
  replyFrom: ReplyFromOptions = {},
): Promise<ReturnType<typeof recordingBalancer> & { url: string }> {
  const recording = recordingBalancer({ peers: [...peers] })
  const app = scope.defer(createApp(), (a) => a.close())
  await app.register(stickyProxy, { balancer: recording.balancer, proxy: { retries: 1 }, replyFrom })
  return { ...recording, url: await listen(app) }
}

function codeOf(answer: Answer): string {
  return (JSON.parse(answer.body.toString()) as { code: string }).code
}

/**
 * Heads undici's llhttp refuses (its `HTTPParserError`, which carries no `code` and which reply-from
 * wraps as `FST_REPLY_FROM_INTERNAL_SERVER_ERROR`): each is the peer's protocol error.
 */
const malformed: ReadonlyArray<readonly [string, string]> = [
  ['a 4-digit status code', 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nhi'],
  ["another protocol's greeting", 'SSH-2.0-OpenSSH_9.6\r\n'],
  ['binary garbage', '\x16\x03\x01\x02\x00\x01\x00\r\n'],
  ['a bare LF in the reason phrase', 'HTTP/1.1 200 O\nK\r\nContent-Length: 2\r\n\r\nhi'],
  ['a control byte in a field value', 'HTTP/1.1 200 OK\r\nX-Hostile: a\x01b\r\nContent-Length: 2\r\n\r\nhi'],
  ['a NUL in a field value', 'HTTP/1.1 200 OK\r\nX-Hostile: a\x00b\r\nContent-Length: 2\r\n\r\nhi'],
  ['an obs-fold continuation line', 'HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 2\r\n\r\nhi'],
  ['a space before the colon', 'HTTP/1.1 200 OK\r\nX-Space : b\r\nContent-Length: 2\r\n\r\nhi'],
  ['a field line without a name', 'HTTP/1.1 200 OK\r\n: no-name\r\nContent-Length: 2\r\n\r\nhi'],
  ['a Content-Length of "+2"', 'HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nhi'],
  ['a Content-Length of "-1"', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhi'],
  ['a Content-Length of "abc"', 'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nhi'],
  ['an empty Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nhi'],
  ['Transfer-Encoding with a too short Content-Length', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
]

for (const [what, bytes] of malformed) {
  test(`should answer 502, blame the peer and retry nowhere when its head has ${what}`, () =>
    withScope(async (scope) => {
      const closed = signalled('the proxy closing its connection to the peer')
      const hostile = await answering(scope, bytes, () => closed.signal())
      const other = await bystander(scope)
      const { url, reports, cookieFor } = await startProxy(scope, [hostile.address, other.address])
      const answer = await send(url, { path: '/x', headers: { cookie: cookieFor(0) } })
      assert.is(answer.status, 502)
      assert.is(codeOf(answer), 'STICKY_UPSTREAM_INVALID')
      assert.equal(reports, [[hostile.address, false]], 'the peer that answered no HTTP is blamed, once')
      assert.is(other.connections(), 0, 'a protocol error is not retried, even for a GET with retries left')
      // The peer holds its side open: the proxy must let go of a connection it cannot read.
      await closed.done
    }))
}

test('should still take a well-formed head from the same kind of peer (the control case)', () =>
  withScope(async (scope) => {
    const peer = await answering(scope, 'HTTP/1.1 200 OK\r\nX-Fine: a b\r\nContent-Length: 2\r\n\r\nhi')
    const { url, reports } = await startProxy(scope, [peer.address])
    const answer = await send(url, { path: '/x' })
    assert.is(answer.status, 200)
    assert.is(answer.body.toString(), 'hi')
    assert.equal(reports, [[peer.address, true]])
  }))

test('should blame a peer that switches protocols unasked (undici\'s "bad upgrade")', () =>
  withScope(async (scope) => {
    const hostile = await answering(scope, 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
    const other = await bystander(scope)
    const { url, reports, cookieFor } = await startProxy(scope, [hostile.address, other.address])
    const answer = await send(url, { path: '/x', headers: { cookie: cookieFor(0) } })
    assert.is(answer.status, 502)
    assert.is(codeOf(answer), 'STICKY_UPSTREAM_INVALID')
    assert.equal(reports, [[hostile.address, false]])
    assert.is(other.connections(), 0)
  }))

const INTERIM_100 = `HTTP/1.1 100 Continue\r\n\r\n${okResponse('after the interim')}`

test('should not blame a peer whose unasked interim 100 undici refuses: 502 from the proxy, nobody blamed, retried nowhere', () =>
  withScope(async (scope) => {
    // RFC 9110 section 15.2: a client must accept a 1xx it did not expect. The peer's answer is
    // valid; undici's HTTP/1.1 client closes the connection on any 100 ("bad response").
    const peer = await answering(scope, INTERIM_100)
    const other = await bystander(scope)
    const { url, reports, cookieFor } = await startProxy(scope, [peer.address, other.address])
    for (const method of ['GET', 'POST'] as const) {
      const answer = await send(url, { method, path: '/x', headers: { cookie: cookieFor(0) }, ...(method === 'POST' ? { body: Buffer.from('ping') } : {}) })
      assert.is(answer.status, 502, method)
      assert.is(codeOf(answer), 'STICKY_PROXY_FAILED', method)
    }
    assert.equal(reports, [], 'the transport refused a valid answer: the peer is neither blamed nor credited')
    assert.is(other.connections(), 0, 'the peer may have acted on the request: not sent elsewhere')
  }))

test('should relay the final answer after an unasked interim 100 with the node:http transport, which accepts it', () =>
  withScope(async (scope) => {
    const peer = await answering(scope, INTERIM_100)
    const { url, reports } = await startProxy(scope, [peer.address], { http: {} })
    const answer = await send(url, { path: '/x' })
    assert.is(answer.status, 200)
    assert.is(answer.body.toString(), 'after the interim')
    assert.equal(reports, [[peer.address, true]])
  }))

test('should relay the final answer after interims other than 100 (undici passes them over)', () =>
  withScope(async (scope) => {
    const peer = await answering(scope, `HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n${okResponse('final')}`)
    const { url, reports } = await startProxy(scope, [peer.address])
    const answer = await send(url, { path: '/x' })
    assert.is(answer.status, 200)
    assert.is(answer.body.toString(), 'final')
    assert.equal(reports, [[peer.address, true]])
  }))

test.run()
