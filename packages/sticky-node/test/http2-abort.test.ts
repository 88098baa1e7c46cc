// An HTTP/2 client that resets its stream (RST_STREAM, or a body that breaks its own content-length)
// is a client gone: the proxy must close the attempt at once, without blaming the peer.
import { createServer, type IncomingMessage } from 'node:http'
import { type ClientHttp2Stream, connect, constants, createSecureServer, type Http2SecureServer, type Http2Session } from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import { withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createStickyProxy, type AttemptRecord, type StickyProxy } from '../src/proxy'
import { TEST_CERT, TEST_KEY } from './_tls'

/**
 * A peer that reads uploads and never answers, so that an attempt stays open until the proxy closes
 * it (or its timeout does). `ended` resolves as each connection closes: `complete` when a whole
 * request arrived on it, `aborted` otherwise (a request cut, or none at all).
 */
async function peer(): Promise<{ address: string; ended: () => Promise<string>; close: () => Promise<void> }> {
  const waiting: ((how: string) => void)[] = []
  const seen: string[] = []
  const server = createServer((req: IncomingMessage) => {
    req.resume()
  })
  server.on('connection', (socket: Socket) => {
    let complete = false
    server.once('request', (req: IncomingMessage) => req.once('end', () => (complete = true)))
    socket.once('close', () => {
      const how = complete ? 'complete' : 'aborted'
      const next = waiting.shift()
      if (next !== undefined) next(how)
      else seen.push(how)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    ended: () => {
      const first = seen.shift()
      return first !== undefined ? Promise.resolve(first) : new Promise((resolve) => waiting.push(resolve))
    },
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  }
}

async function tlsProxy(peerAddress: string, attempts: AttemptRecord[]): Promise<{ proxy: StickyProxy; origin: string; close: () => Promise<void> }> {
  // A short upstream timeout bounds the test: with the defect, the attempt ends only through it.
  const proxy = createStickyProxy({ peers: [peerAddress], proxy: { timeout: 1_000 }, onAttempt: (record) => attempts.push(record) })
  const server: Http2SecureServer = createSecureServer({ key: TEST_KEY, cert: TEST_CERT, allowHTTP1: true }, proxy)
  const sessions = new Set<Http2Session>()
  server.on('session', (session: Http2Session) => sessions.add(session))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    proxy,
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const session of sessions) session.destroy()
        proxy.close()
      }),
  }
}

const Abort = suite('createStickyProxy: HTTP/2 streams reset by the client')

// Regression: node:http2's compatibility response reports a stream the client reset as
// `writableFinished`, and the request stream of a reset upload ends instead of erroring; the proxy
// took neither for a client gone, so the attempt stayed open until `proxy.timeout` and the peer was
// blamed `peer-silent` (a client could take peers out of rotation by resetting streams).
const POST = { ':path': '/upload', ':method': 'POST', 'content-length': '10' }
const GET = { ':path': '/think', ':method': 'GET' }
for (const [name, headers, send, peerSees] of [
  [
    'RST_STREAM mid-upload',
    POST,
    (stream: ClientHttp2Stream) => (stream.write(Buffer.alloc(5)), setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), 50)),
    'aborted',
  ],
  ['a body longer than its content-length', POST, (stream: ClientHttp2Stream) => stream.end(Buffer.alloc(100)), 'aborted'],
  ['RST_STREAM of a GET while the peer thinks', GET, (stream: ClientHttp2Stream) => setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), 50), 'complete'],
] as const) {
  Abort(`should close the attempt without blame when the client resets: ${name}`, () =>
    withScope(async (scope) => {
      const backend = scope.defer(await peer(), (p) => p.close())
      const attempts: AttemptRecord[] = []
      const front = scope.defer(await tlsProxy(backend.address, attempts), (p) => p.close())
      const session = scope.defer(connect(front.origin, { ca: TEST_CERT }), (s) => s.close())
      const stream = session.request(headers, { endStream: headers === GET })
      stream.on('error', () => undefined)
      send(stream)
      await new Promise((resolve) => stream.once('close', resolve))
      // The peer's side of the upstream request ends: at once when abandoned, at the timeout otherwise.
      assert.is(await backend.ended(), peerSees, 'a reset upload never reaches the peer as a complete request')
      await new Promise((resolve) => setImmediate(resolve))
      assert.is(front.proxy.inFlight(backend.address), 0)
      assert.equal(
        attempts.map((record) => [record.event, record.verdict.blame]),
        [['client-gone', false]],
        'the client is gone; the peer is not blamed (not peer-silent)',
      )
    }),
  )
}

Abort.run()
