import { withScope } from 'sticky-conformance'
import type { ProxyResponseEvent } from '../src/proxy'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { listenProxy } from './_server'
import { rawClient } from './_raw'
import { connect } from 'node:net'
import { EventLog, fetchOnce, httpUpstream } from './_upstream'

/** What the peer parsed: one entry per request, in arrival order. */
interface Logged {
  readonly method: string
  readonly url: string
  readonly host: string | undefined
  readonly forwardedHost: string | string[] | undefined
  readonly contentLength: string | undefined
  readonly transferEncoding: string | undefined
  readonly body: string
}

/** A peer that logs every request it parses, and answers once the body is read. */
async function loggingPeer(): Promise<{ log: Logged[] } & Awaited<ReturnType<typeof httpUpstream>>> {
  const log: Logged[] = []
  const up = await httpUpstream((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      log.push({
        method: req.method ?? '',
        url: req.url ?? '',
        host: req.headers.host,
        forwardedHost: req.headers['x-forwarded-host'],
        contentLength: req.headers['content-length'],
        transferEncoding: req.headers['transfer-encoding'],
        body: Buffer.concat(chunks).toString(),
      })
      res.end(`${req.method} ${req.url}`)
    })
  })
  return Object.assign(up, { log })
}

// ----------------------------------------------------------------------------------------------
const framing = suite('createStickyProxy: request framing')

const SMUGGLED = 'GET /admin HTTP/1.1\r\nHost: internal\r\n\r\n'

for (const method of ['DELETE', 'GET', 'OPTIONS', 'POST', 'PUT']) {
  framing(`should keep the body of ${method} framed when Connection names Content-Length (no smuggling)`, () =>
    withScope(async (scope) => {
      const peer = scope.defer(await loggingPeer(), (u) => u.close())
      const proxy = scope.defer(await listenProxy({ peers: [peer.address] }), (p) => p.close())
      const client = scope.defer(await rawClient(proxy.port), (c) => c.close())
      const answer = await client.exchange(
        `${method} /item HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
      )
      assert.is(answer.status, 200)
      assert.is(answer.body.toString(), `${method} /item`)
      // The next request shares the pooled upstream connection: a smuggled request would be parsed before it.
      const after = await fetchOnce(`${proxy.url}/after`)
      assert.is(after.status, 200)
      assert.equal(
        peer.log.map((r) => `${r.method} ${r.url}`),
        [`${method} /item`, 'GET /after'],
      )
      assert.is(peer.log[0]?.body, SMUGGLED)
      assert.is(peer.log[0]?.contentLength, String(SMUGGLED.length))
      assert.is(peer.log[0]?.host, peer.address)
      assert.is(peer.log[0]?.forwardedHost, 'x')
    }),
  )
}

framing('should keep Host and X-Forwarded-Host when Connection names them', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await loggingPeer(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [peer.address] }), (p) => p.close())
    const client = scope.defer(await rawClient(proxy.port), (c) => c.close())
    const answer = await client.exchange('GET /h HTTP/1.1\r\nHost: x.example\r\nConnection: host, x-forwarded-host, keep-alive\r\n\r\n')
    assert.is(answer.status, 200)
    assert.is(peer.log[0]?.host, peer.address)
    assert.is(peer.log[0]?.forwardedHost, 'x.example')
  }),
)

framing('should state chunked framing upstream for a chunked body of any method', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await loggingPeer(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [peer.address] }), (p) => p.close())
    const client = scope.defer(await rawClient(proxy.port), (c) => c.close())
    for (const method of ['DELETE', 'GET', 'POST']) {
      const answer = await client.exchange(
        `${method} /c HTTP/1.1\r\nHost: x\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n` +
          `5\r\nhello\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`,
      )
      assert.is(answer.status, 200, method)
    }
    assert.equal(
      peer.log.map((r) => `${r.method} ${r.url} ${r.transferEncoding ?? '-'} ${r.contentLength ?? '-'}`),
      ['DELETE /c chunked -', 'GET /c chunked -', 'POST /c chunked -'],
    )
    for (const r of peer.log) assert.is(r.body, `hello${SMUGGLED}`)
  }),
)

framing('should send no framing for a request without a body, and Content-Length: 0 when the client sent it', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await loggingPeer(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [peer.address] }), (p) => p.close())
    const client = scope.defer(await rawClient(proxy.port), (c) => c.close())
    assert.is((await client.exchange('DELETE /a HTTP/1.1\r\nHost: x\r\n\r\n')).status, 200)
    assert.is((await client.exchange('POST /b HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\nContent-Length: 0\r\n\r\n')).status, 200)
    assert.equal(
      peer.log.map((r) => `${r.method} ${r.url} ${r.transferEncoding ?? '-'} ${r.contentLength ?? '-'}`),
      ['DELETE /a - -', 'POST /b - 0'],
    )
  }),
)

framing('should drop a Content-Length the peer put on a 204 (RFC 9110 section 8.6), and keep it on a 304', () =>
  withScope(async (scope) => {
    const peer = scope.defer(
      await httpUpstream((req, res) => {
        res.writeHead(req.url === '/gone' ? 204 : 304, { 'content-length': req.url === '/gone' ? '0' : '12', 'x-kept': 'yes' })
        res.end()
      }),
      (u) => u.close(),
    )
    const proxy = scope.defer(await listenProxy({ peers: [peer.address] }), (p) => p.close())
    const head = async (path: string): Promise<string> => {
      const socket = connect(proxy.port, '127.0.0.1')
      let bytes = ''
      socket.setEncoding('latin1').on('data', (chunk: string) => (bytes += chunk))
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      await new Promise((resolve) => socket.once('close', resolve))
      return bytes.toLowerCase()
    }
    const noContent = await head('/gone')
    assert.match(noContent, /^http\/1\.1 204 /)
    assert.match(noContent, /\r\nx-kept: yes\r\n/)
    assert.not.match(noContent, /\r\ncontent-length:/)
    const notModified = await head('/same')
    assert.match(notModified, /^http\/1\.1 304 /, notModified)
    assert.match(notModified, /\r\ncontent-length: 12\r\n/)
  }),
)

framing.run()

// ----------------------------------------------------------------------------------------------
const refused = suite('createStickyProxy: requests refused as nginx refuses them')

const refusals: ReadonlyArray<{ name: string; request: string; status: number }> = [
  { name: 'two Host headers (400)', request: 'GET /h HTTP/1.1\r\nHost: good\r\nHost: evil\r\n\r\n', status: 400 },
  { name: 'two Host headers of the same value (400)', request: 'GET /h HTTP/1.1\r\nHost: good\r\nhost: good\r\n\r\n', status: 400 },
  {
    name: 'a transfer coding before chunked (501)',
    request: 'POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    status: 501,
  },
  {
    name: 'any coding list ending in chunked (501)',
    request: 'PUT /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: compress ,CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    status: 501,
  },
]
for (const { name, request, status } of refusals) {
  refused(`should refuse ${name} without contacting the peer, and close the connection`, () =>
    withScope(async (scope) => {
      const peer = scope.defer(await loggingPeer(), (u) => u.close())
      const log = new EventLog<ProxyResponseEvent>()
      const proxy = scope.defer(await listenProxy({ peers: [peer.address], onResponse: log.push }), (p) => p.close())
      const client = scope.defer(await rawClient(proxy.port), (c) => c.close())
      const answer = await client.exchange(request)
      assert.is(answer.status, status)
      assert.equal(answer.headers.get('connection'), ['close'])
      await client.closed()
      const [event] = await log.first(1)
      assert.is(event?.status, status)
      assert.is(event?.error, 'rejected')
      assert.is(event?.attempts, 0)
      assert.is(peer.connections, 0)
      // The peer is not blamed: it was never asked.
      assert.is(proxy.proxy.balancer.decide(null).outcome, 'new')
    }),
  )
}

refused('should still accept one Host and exactly chunked, in any case', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await loggingPeer(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [peer.address] }), (p) => p.close())
    const client = scope.defer(await rawClient(proxy.port), (c) => c.close())
    const answer = await client.exchange('POST /t HTTP/1.1\r\nHOST: x\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n')
    assert.is(answer.status, 200)
    assert.is(peer.log[0]?.body, 'hello')
    assert.is(peer.log[0]?.host, peer.address)
    assert.is(peer.log[0]?.forwardedHost, 'x')
  }),
)

refused.run()
