import { upstreamHost } from 'sticky-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createStickyFetch } from '../src/index'
import { clientRequest, onRequestHead, rawPeer } from './_client'
import { closeAfterEach } from './_servers'

/** Host and X-Forwarded-* as the peer receives them, on the wire. */
const test = suite('createStickyFetch: request header rules on the wire')
const started = closeAfterEach(test)

/** A raw peer that answers each request with its head, verbatim. */
function headEcho(): ReturnType<typeof rawPeer> {
  return rawPeer((socket) =>
    onRequestHead(socket, (head) => {
      socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(head, 'latin1')}\r\n\r\n${head}`)
    }),
  )
}

/** The values of field `name` in a request head, in order. */
function fields(head: string, name: string): string[] {
  return head
    .split('\r\n')
    .slice(1)
    .filter((line) => line.toLowerCase().startsWith(`${name}:`))
    .map((line) => line.slice(name.length + 1).trim())
}

const addresses: ReadonlyArray<(port: number) => string> = [
  (port) => `127.0.0.1:${port}`,
  (port) => `http://127.0.0.1:${port}`,
  (port) => `http://localhost:${port}/`,
]
for (const address of addresses) {
  test(`should send exactly upstreamHost(peer) as Host for a peer ${address(1234)}`, async () => {
    const peer = await started(headEcho())
    const handler = createStickyFetch({ peers: [address(peer.port)] })
    const head = await (await handler(clientRequest('/', { headers: { host: 'shop.example' } }))).text()
    const [configured] = handler.balancer.peers
    if (configured === undefined) throw new Error('unreachable')
    assert.equal(fields(head, 'host'), [upstreamHost(configured)])
  })
}

const chains: ReadonlyArray<{ incoming: string[]; sent: string }> = [
  { incoming: [], sent: '192.0.2.5' },
  { incoming: [''], sent: '192.0.2.5' },
  { incoming: [' , '], sent: '192.0.2.5' },
  { incoming: ['203.0.113.7'], sent: '203.0.113.7, 192.0.2.5' },
  { incoming: ['203.0.113.7, ', '10.0.0.2'], sent: '203.0.113.7, 10.0.0.2, 192.0.2.5' },
]
for (const { incoming, sent } of chains) {
  test(`should send one X-Forwarded-For "${sent}" for incoming ${JSON.stringify(incoming)} from a trusted proxy`, async () => {
    const peer = await started(headEcho())
    const handler = createStickyFetch({ peers: [peer.address], proxy: { clientAddress: () => '192.0.2.5', trustProxy: '192.0.2.0/24' } })
    const headers = new Headers({ 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'evil.example' })
    for (const value of incoming) headers.append('x-forwarded-for', value)
    const head = await (await handler(clientRequest('/', { headers }))).text()
    assert.equal(fields(head, 'x-forwarded-for'), [sent])
    assert.equal(fields(head, 'x-forwarded-proto'), ['gopher'], "a trusted proxy's claim is kept")
    assert.equal(fields(head, 'x-forwarded-host'), ['evil.example'])
  })

  test(`should send X-Forwarded-For "192.0.2.5" alone for incoming ${JSON.stringify(incoming)} from anyone else`, async () => {
    const peer = await started(headEcho())
    const handler = createStickyFetch({ peers: [peer.address], proxy: { clientAddress: () => '192.0.2.5', trustProxy: '10.0.0.0/8' } })
    const headers = new Headers({ 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'evil.example' })
    for (const value of incoming) headers.append('x-forwarded-for', value)
    const head = await (await handler(clientRequest('/', { headers }))).text()
    assert.equal(fields(head, 'x-forwarded-for'), ['192.0.2.5'])
    assert.equal(fields(head, 'x-forwarded-proto'), ['https'], "the client's claim is replaced")
    assert.equal(fields(head, 'x-forwarded-host'), ['shop.example'])
  })
}

test("should write RFC 7239 Forwarded after a trusted proxy's elements when xForwarded.forwarded is on", async () => {
  const peer = await started(headEcho())
  const proxy = { clientAddress: () => '2001:db8::5', trustProxy: '2001:db8::/32', xForwarded: { forwarded: true } }
  const handler = createStickyFetch({ peers: [peer.address], proxy })
  const head = await (await handler(clientRequest('/', { headers: { forwarded: 'for=203.0.113.7;proto=https' } }))).text()
  assert.equal(fields(head, 'forwarded'), ['for=203.0.113.7;proto=https, for="[2001:db8::5]";proto=https;host=shop.example'])
})

test('should pass the incoming X-Forwarded-* fields on untouched when xForwarded is false', async () => {
  const peer = await started(headEcho())
  const handler = createStickyFetch({ peers: [peer.address], proxy: { xForwarded: false, clientAddress: () => '192.0.2.5' } })
  const head = await (await handler(clientRequest('/', { headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'http' } }))).text()
  assert.equal(fields(head, 'x-forwarded-for'), ['203.0.113.7'])
  assert.equal(fields(head, 'x-forwarded-proto'), ['http'])
  assert.equal(fields(head, 'x-forwarded-host'), [])
})

test('should write only the X-Forwarded-* fields xForwarded selects, passing the others on untouched', async () => {
  const peer = await started(headEcho())
  let asked = 0
  const clientAddress = (): string => {
    asked++
    return '192.0.2.5'
  }
  const handler = createStickyFetch({ peers: [peer.address], proxy: { xForwarded: { for: false, host: false }, clientAddress } })
  const head = await (
    await handler(clientRequest('/', { headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'evil.example' } }))
  ).text()
  assert.equal(fields(head, 'x-forwarded-for'), ['203.0.113.7'])
  assert.equal(fields(head, 'x-forwarded-proto'), ['https'])
  assert.equal(fields(head, 'x-forwarded-host'), ['evil.example'])
  assert.is(asked, 0, 'no client address is needed without X-Forwarded-For and trusted proxies')
})

test('should ask clientAddress for trust alone when X-Forwarded-For is off and trustProxy names someone', async () => {
  const peer = await started(headEcho())
  let asked = 0
  const clientAddress = (): string => {
    asked++
    return '192.0.2.5'
  }
  const handler = createStickyFetch({ peers: [peer.address], proxy: { xForwarded: { for: false }, trustProxy: '192.0.2.5', requestId: true, clientAddress } })
  const head = await (await handler(clientRequest('/', { headers: { 'x-forwarded-proto': 'http', 'x-request-id': 'edge-7' } }))).text()
  assert.equal(fields(head, 'x-forwarded-proto'), ['http'], "the trusted proxy's claim is kept")
  assert.equal(fields(head, 'x-request-id'), ['edge-7'])
  assert.equal(fields(head, 'x-forwarded-for'), [])
  assert.is(asked, 1, 'once per request')
})

test.run()
