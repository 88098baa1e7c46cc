import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createStickyFetch } from '../src/index'
import { clientRequest, onRequestHead, pinnedTo, rawPeer } from './_client'
import { closeAfterEach, echoBackend, serveFetch } from './_servers'

/** Whatever a peer sends, the handler resolves with a response: it never rejects. */
const test = suite('createStickyFetch: answers a Response cannot carry')
const started = closeAfterEach(test)

/** A raw peer that answers every request head with `bytes` and closes. */
function answering(bytes: Buffer): ReturnType<typeof rawPeer> {
  return rawPeer((socket) => onRequestHead(socket, () => socket.end(bytes)))
}

const latin1 = Buffer.concat([Buffer.from('HTTP/1.1 200 Gr'), Buffer.from([0xfc, 0xdf]), Buffer.from('e\r\nContent-Length: 2\r\n\r\nok')])

test('should relay a 204 without the Content-Length its peer put on it (RFC 9110 section 8.6)', async () => {
  const peer = await started(answering(Buffer.from('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-Kept: yes\r\nConnection: close\r\n\r\n', 'latin1')))
  const handler = createStickyFetch({ peers: [peer.address] })
  const response = await handler(clientRequest('/'))
  assert.is(response.status, 204)
  assert.is(response.headers.get('x-kept'), 'yes')
  assert.is(response.headers.get('content-length'), null)
})

test('should relay a response whose reason phrase is latin-1, without the phrase', async () => {
  const peer = await started(answering(latin1))
  const handler = createStickyFetch({ peers: [peer.address] })
  const response = await handler(clientRequest('/'))
  assert.is(response.status, 200)
  assert.is(response.statusText, '', 'a phrase the runtime cannot carry is dropped (it means nothing)')
  assert.is(await response.text(), 'ok')
  assert.is(handler.balancer.decide(pinnedTo(handler, peer)).outcome, 'hit')
})

test('should answer the client 200 through a real server, not the runtime’s own 500, for a latin-1 phrase', async () => {
  const peer = await started(answering(latin1))
  const server = await started(serveFetch(createStickyFetch({ peers: [peer.address] })))
  const response = await fetch(server.url)
  assert.is(response.status, 200)
  assert.is(await response.text(), 'ok')
})

test('should answer 502 and blame the peer for a status no Response can carry', async () => {
  const peer = await started(answering(Buffer.from('HTTP/1.1 600 Beyond\r\nContent-Length: 2\r\n\r\nok')))
  const other = await started(echoBackend('other'))
  const handler = createStickyFetch({ peers: [peer.address, other.address] })
  const cookie = pinnedTo(handler, peer)
  const response = await handler(clientRequest('/', { headers: { cookie } }))
  assert.is(response.status, 502)
  assert.is(other.connections(), 0, 'peer-protocol-error is never retried')
  assert.is(handler.balancer.decide(cookie).outcome, 'repinned')
})

test('should answer 502, blame the peer and never retry a head Node fetch refuses without an error code (regression: retried as a connection failure)', async () => {
  // llhttp refuses a space before the first field line with an HTTPParserError that has no `code`.
  const peer = await started(answering(Buffer.from('HTTP/1.1 410 OK\r\n X-Leading-Space: b\r\nContent-Length: 2\r\n\r\nok')))
  const other = await started(echoBackend('other'))
  const handler = createStickyFetch({ peers: [peer.address, other.address] })
  const cookie = pinnedTo(handler, peer)
  const response = await handler(clientRequest('/', { headers: { cookie } }))
  assert.is(response.status, 502)
  assert.is(other.connections(), 0, 'peer-protocol-error is never retried')
  assert.is(handler.balancer.decide(cookie).outcome, 'repinned')
})

test('should answer 502, never reject, when the transport hands back something that is not a Response', async () => {
  const handler = createStickyFetch({
    peers: ['127.0.0.1:9'],
    proxy: { fetch: () => Promise.resolve({ status: 200 } as unknown as Response) },
  })
  const response = await handler(clientRequest('/'))
  assert.is(response.status, 502)
})

test('should answer 502, never reject, when clientAddress throws', async () => {
  const handler = createStickyFetch({
    peers: ['127.0.0.1:9'],
    proxy: {
      clientAddress: () => {
        throw new Error('bug in a callback')
      },
    },
  })
  assert.is((await handler(clientRequest('/'))).status, 502)
})

test('should answer 502 and blame nobody when the runtime refuses to build the upstream request', async () => {
  const peer = await started(echoBackend('peer'))
  const other = await started(echoBackend('other'))
  const handler = createStickyFetch({ peers: [peer.address, other.address] })
  // A request a runtime can hand over (workerd passes TRACE through) but fetch refuses to send.
  const cookie = pinnedTo(handler, peer)
  const trace = { method: 'TRACE', url: 'https://shop.example/', headers: new Headers({ cookie }), body: null, signal: new AbortController().signal }
  const response = await handler(trace as unknown as Request)
  assert.is(response.status, 502)
  assert.is(peer.connections() + other.connections(), 0, 'no peer was contacted, none tried instead')
  assert.is(handler.balancer.decide(cookie).outcome, 'hit', 'proxy-failed blames nobody')
})

test.run()
