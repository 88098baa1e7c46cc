import type { IncomingMessage, ServerResponse } from 'node:http'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { gzipSync } from 'node:zlib'
import { StickyConfigError } from 'sticky-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createStickyFetch } from '../src/index'
import { BUFFERED_BODY_LIMIT } from '../src/attempt'
import type { FetchResponseEvent, StickyFetch } from '../src/index'
import { clientRequest, onRequestHead, pinnedTo, rawPeer, signalled, streamOf } from './_client'
import { closeAfterEach, echoBackend, listen, readBody, resettingBackend, serveFetch } from './_servers'
import type { Echo, Listening, ServeOptions } from './_servers'

const test = suite('createStickyFetch')

const started = closeAfterEach(test)

test("should keep the upstream's two Set-Cookie headers beside the sticky one", async () => {
  const backend = await started(
    listen((_req, res) => {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT; HttpOnly'])
      res.end('ok')
    }),
  )
  const handler = createStickyFetch({ peers: [backend.address] })
  const response = await handler(clientRequest('/'))
  assert.is(response.status, 200)
  assert.equal(response.headers.getSetCookie(), [
    'a=1; Path=/',
    'b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT; HttpOnly',
    `${pinnedTo(handler, backend)}; Path=/`,
  ])
  assert.is(await response.text(), 'ok')
})

test('should refuse a request whose Content-Length is invalid with 400, before any peer sees it', async () => {
  let requests = 0
  const backend = await started(
    listen((_req, res) => {
      requests += 1
      res.end('ok')
    }),
  )
  const handler = createStickyFetch({ peers: [backend.address] })
  for (const value of ['-3', '+3', '3, 4', 'abc']) {
    const response = await handler(clientRequest('/', { method: 'POST', headers: { 'content-length': value }, body: 'abc' }))
    assert.is(response.status, 400, value)
    assert.is(response.headers.get('set-cookie'), null, 'nobody was pinned')
  }
  const fine = await handler(clientRequest('/', { method: 'POST', headers: { 'content-length': '3' }, body: 'abc' }))
  assert.is(fine.status, 200)
  assert.is(requests, 1, 'only the request with a valid length reached the peer')
})

test("should refuse what sticky-core's requestRefusal refuses of the Headers it sees, and say why", async () => {
  let requests = 0
  const backend = await started(
    listen((_req, res) => {
      requests += 1
      res.end('ok')
    }),
  )
  const events: FetchResponseEvent[] = []
  const handler = createStickyFetch({ peers: [backend.address], onResponse: (event) => events.push(event) })
  const cases: ReadonlyArray<{ headers: [string, string][]; status: number; body: string }> = [
    { headers: [['transfer-encoding', 'gzip, chunked']], status: 501, body: 'Not Implemented: transfer codings other than chunked are not supported\n' },
    // Two Transfer-Encoding lines are one coding list in a Headers object: refused, as a list (501).
    {
      headers: [
        ['transfer-encoding', 'chunked'],
        ['transfer-encoding', 'chunked'],
      ],
      status: 501,
      body: 'Not Implemented: transfer codings other than chunked are not supported\n',
    },
    {
      headers: [
        ['content-length', '3'],
        ['content-length', '4'],
      ],
      status: 400,
      body: 'Bad Request: invalid Content-Length\n',
    },
  ]
  for (const { headers, status, body } of cases) {
    const response = await handler(clientRequest('/', { method: 'POST', headers, body: 'abc' }))
    assert.is(response.status, status, JSON.stringify(headers))
    assert.is(await response.text(), body)
    assert.is(response.headers.get('set-cookie'), null, 'nobody was pinned')
  }
  assert.equal(
    events.map((e) => [e.status, e.error, e.attempts]),
    cases.map((c) => [c.status, 'rejected', 0]),
  )
  // Two Host lines are one Host in a Headers object: this rule cannot see them (the runtime's listener refuses them).
  assert.is(
    (
      await handler(
        clientRequest('/', {
          headers: [
            ['host', 'a'],
            ['host', 'b'],
          ],
        }),
      )
    ).status,
    200,
  )
  assert.is(requests, 1, 'only the request with one Host value reached the peer')
})

test('should pass redirects to the client instead of following them', async () => {
  const backend = await started(
    listen((req, res) => {
      res.writeHead(req.url === '/old' ? 302 : 200, { location: '/new' }).end(req.url)
    }),
  )
  const handler = createStickyFetch({ peers: [backend.address] })
  const response = await handler(clientRequest('/old'))
  assert.is(response.status, 302)
  assert.is(response.headers.get('location'), '/new')
  assert.is(await response.text(), '/old')
  assert.is(backend.connections(), 1, 'the redirect target was never fetched')
})

test('should drop hop-by-hop headers in both directions', async () => {
  let seen: Record<string, string | string[] | undefined> = {}
  const backend = await started(
    listen((req, res) => {
      seen = req.headers
      res.writeHead(200, { connection: 'x-upstream-hop', 'x-upstream-hop': '1', 'x-end-to-end': '1' }).end()
    }),
  )
  const handler = createStickyFetch({ peers: [backend.address] })
  const response = await handler(
    clientRequest('/', {
      headers: {
        connection: 'x-client-hop',
        'x-client-hop': '1',
        'keep-alive': 'timeout=9',
        te: 'trailers',
        'proxy-authorization': 'Basic eA==',
        'x-keep': 'yes',
      },
    }),
  )
  assert.is(response.status, 200)
  for (const name of ['x-client-hop', 'keep-alive', 'te', 'proxy-authorization']) assert.is(seen[name], undefined, name)
  assert.is(seen['x-keep'], 'yes')
  assert.is(seen.host, backend.address, 'Host names the peer')
  assert.is(response.headers.get('x-upstream-hop'), null)
  assert.is(response.headers.get('x-end-to-end'), '1')
})

test('should forward method, path, query and body, and never let the path change the origin', async () => {
  const backend = await started(echoBackend('b1'))
  const handler = createStickyFetch({ peers: [backend.address] })
  const response = await handler(clientRequest('//other.example/x?q=a%20b&r=1', { method: 'POST', body: 'hello' }))
  const echo = (await response.json()) as Echo
  assert.is(echo.method, 'POST')
  assert.is(echo.url, '//other.example/x?q=a%20b&r=1')
  assert.is(echo.body, 'hello')
})

const forwarded: ReadonlyArray<{
  name: string
  options: Parameters<typeof createStickyFetch>[0]['proxy']
  headers: Record<string, string>
  expected: Record<string, string | undefined>
}> = [
  {
    name: 'should not trust a client-sent CF-Connecting-IP outside Cloudflare (no request.cf): the address is unknown, no X-Forwarded-For is sent',
    options: undefined,
    headers: { 'cf-connecting-ip': '203.0.113.9', 'x-forwarded-for': '198.51.100.1' },
    expected: { 'x-forwarded-for': undefined, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' },
  },
  {
    name: 'should take X-Forwarded-For from clientAddress when given',
    options: { clientAddress: () => '192.0.2.5' },
    headers: { 'cf-connecting-ip': '203.0.113.9' },
    expected: { 'x-forwarded-for': '192.0.2.5', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' },
  },
  {
    name: 'should add no X-Forwarded header when xForwarded is false',
    options: { xForwarded: false },
    headers: { 'cf-connecting-ip': '203.0.113.9' },
    expected: { 'x-forwarded-for': undefined, 'x-forwarded-proto': undefined, 'x-forwarded-host': undefined },
  },
]
for (const { name, options, headers, expected } of forwarded) {
  test(name, async () => {
    const backend = await started(echoBackend('b1'))
    const handler = createStickyFetch({ peers: [backend.address], proxy: options })
    const echo = (await (await handler(clientRequest('/', { headers }))).json()) as Echo
    for (const [header, value] of Object.entries(expected)) assert.is(echo.headers[header], value, header)
  })
}

test('should take X-Forwarded-For from CF-Connecting-IP by default where request.cf proves Cloudflare', async () => {
  const backend = await started(echoBackend('b1'))
  const request = (): Request => {
    const made = clientRequest('/', { headers: { 'cf-connecting-ip': '203.0.113.9', 'x-forwarded-for': '198.51.100.1' } })
    Object.defineProperty(made, 'cf', { value: { colo: 'AMS' } })
    return made
  }
  const handler = createStickyFetch({ peers: [backend.address] })
  const echo = (await (await handler(request())).json()) as Echo
  assert.is(echo.headers['x-forwarded-for'], '203.0.113.9', "the client's own chain is replaced")
  const trusting = createStickyFetch({ peers: [backend.address], proxy: { trustProxy: '203.0.113.0/24' } })
  const extended = (await (await trusting(request())).json()) as Echo
  assert.is(extended.headers['x-forwarded-for'], '198.51.100.1, 203.0.113.9', 'extended when CF-Connecting-IP is a trusted proxy')
})

const onResponse = suite('createStickyFetch: onResponse')
const startedHere = closeAfterEach(onResponse)

onResponse('should report a relayed response once its body is over, with the fields of every adapter', async () => {
  const backend = await startedHere(echoBackend('b1'))
  const events: FetchResponseEvent[] = []
  const handler = createStickyFetch({ peers: [backend.address], onResponse: (e) => events.push(e) })
  const request = clientRequest('/cart?session=secret', { method: 'POST', body: 'hi' })
  const response = await handler(request)
  assert.is(events.length, 0, 'not before the body is relayed')
  await response.text()
  assert.is(events.length, 1)
  const [event] = events
  assert.is(event?.request, request)
  assert.is(event?.method, 'POST')
  assert.is(event?.path, '/cart', 'the query never reaches the event')
  assert.is(event?.status, 200)
  assert.is(event?.outcome, 'new')
  assert.is(event?.decision.outcome, 'new')
  assert.is(event?.peer?.id, backend.address)
  assert.is(event?.attempts, 1)
  assert.is(event?.error, undefined)
  assert.is(event?.upgrade, false)
  assert.ok(typeof event?.durationMs === 'number' && event.durationMs >= 0)
})

onResponse("should report a retried request, the handler's own answers and a body the client gave up", async () => {
  const broken = await startedHere(resettingBackend())
  const live = await startedHere(echoBackend('live'))
  const events: FetchResponseEvent[] = []
  const handler = createStickyFetch({ peers: [broken.address, live.address], onResponse: (e) => events.push(e) })
  await (await handler(clientRequest('/', { headers: { cookie: pinnedTo(handler, broken) } }))).text()
  assert.is(events[0]?.attempts, 2)
  assert.is(events[0]?.peer?.id, live.address)
  assert.is(events[0]?.outcome, 'repinned')

  const down = createStickyFetch({ peers: [{ address: broken.address, down: true }], onResponse: (e) => events.push(e) })
  assert.is((await down(clientRequest('/'))).status, 502)
  assert.equal([events[1]?.status, events[1]?.error, events[1]?.attempts, events[1]?.peer], [502, 'unavailable', 0, null])

  assert.is((await handler(clientRequest('/', { method: 'POST', headers: { 'content-length': '-1' }, body: 'x' }))).status, 400)
  assert.equal([events[2]?.status, events[2]?.error, events[2]?.attempts], [400, 'rejected', 0])

  const cancelled = await handler(clientRequest('/'))
  await cancelled.body?.cancel()
  assert.equal([events[3]?.status, events[3]?.error], [200, 'client-aborted'])
  assert.is(events.length, 4)
})

onResponse('should hand what onResponse throws to onError, and answer anyway', async () => {
  const backend = await startedHere(echoBackend('b1'))
  const errors: unknown[] = []
  const boom = new Error('logging bug')
  const handler = createStickyFetch({
    peers: [backend.address],
    onResponse: () => {
      throw boom
    },
    onError: (error) => errors.push(error),
  })
  const response = await handler(clientRequest('/'))
  assert.is(response.status, 200)
  await response.text()
  assert.equal(errors, [boom])
  // An async hook's rejection too: unhandled, it would end a Node process.
  const rejecting = createStickyFetch({ peers: [backend.address], onResponse: async () => Promise.reject(boom), onError: (error) => errors.push(error) })
  await (await rejecting(clientRequest('/'))).text()
  for (let i = 0; i < 100 && errors.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 1))
  assert.equal(errors, [boom, boom])
  assert.throws(
    () => createStickyFetch({ peers: [backend.address], onResponse: 'log' as never }),
    (e: unknown) => e instanceof StickyConfigError && e.option === 'onResponse',
  )
})

onResponse('should carry the request id in the event, to the peer, and on relayed and own answers alike', async () => {
  const backend = await startedHere(
    listen((req, res) => {
      res.setHeader('x-request-id', 'the peer s own')
      res.end(String(req.headers['x-request-id']))
    }),
  )
  const events: FetchResponseEvent[] = []
  const proxy = { requestId: true, clientAddress: () => '192.0.2.5' }
  const handler = createStickyFetch({ peers: [backend.address], proxy, onResponse: (e) => events.push(e) })
  const response = await handler(clientRequest('/', { headers: { 'x-request-id': 'forged' } }))
  const sent = await response.text()
  assert.match(sent, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "an untrusted client's id is replaced")
  assert.is(response.headers.get('x-request-id'), sent, "in place of the peer's copy")
  assert.is(events[0]?.requestId, sent)

  const trusting = createStickyFetch({ peers: [backend.address], proxy: { ...proxy, trustProxy: '192.0.2.5' }, onResponse: (e) => events.push(e) })
  const kept = await trusting(clientRequest('/', { headers: { 'x-request-id': 'edge-42' } }))
  assert.equal([await kept.text(), kept.headers.get('x-request-id'), events[1]?.requestId], ['edge-42', 'edge-42', 'edge-42'])

  const down = createStickyFetch({ peers: [{ address: backend.address, down: true }], proxy: { requestId: 'X-Trace' }, onResponse: (e) => events.push(e) })
  const own = await down(clientRequest('/'))
  assert.is(own.status, 502)
  assert.ok(own.headers.get('x-trace') !== null, "the handler's own answer names the request too")
  assert.is(events[2]?.requestId, own.headers.get('x-trace'))

  const plain = createStickyFetch({ peers: [backend.address], onResponse: (e) => events.push(e) })
  assert.is(await (await plain(clientRequest('/', { headers: { 'x-request-id': 'passes' } }))).text(), 'passes', 'untouched when off')
  assert.is(events[3]?.requestId, undefined)
})

onResponse.run()

const replays: ReadonlyArray<{ name: string; method: string; body: string; retried: boolean }> = [
  { name: 'retry a GET', method: 'GET', body: '', retried: true },
  { name: 'retry a PUT with an empty body', method: 'PUT', body: '', retried: true },
  { name: 'not retry a PUT whose body had started to stream', method: 'PUT', body: 'x'.repeat(100), retried: false },
  { name: 'not retry a POST', method: 'POST', body: 'x', retried: false },
  { name: 'not retry a PATCH', method: 'PATCH', body: 'x', retried: false },
]
for (const { name, method, body, retried } of replays) {
  test(`should ${name} after a network error`, async () => {
    const broken = await started(resettingBackend())
    const live = await started(echoBackend('live'))
    const handler = createStickyFetch({ peers: [broken.address, live.address] })
    const response = await handler(
      clientRequest('/', {
        method,
        headers: { cookie: pinnedTo(handler, broken) },
        ...(method === 'GET' ? {} : { body: streamOf(body), duplex: 'half' as const }),
      }),
    )
    assert.is(broken.connections(), 1, 'the pinned peer was tried first')
    if (!retried) {
      assert.is(response.status, 502)
      assert.is(live.connections(), 0, 'nothing was sent again')
      return
    }
    assert.is(response.status, 200)
    const echo = (await response.json()) as Echo
    assert.is(echo.body, body, 'the whole body reached the second peer')
    assert.equal(response.headers.getSetCookie(), [`${pinnedTo(handler, live)}; Path=/`], 're-pinned to the peer that answered')
  })
}

test('should stop retrying after proxy.retries further peers', async () => {
  const broken = await Promise.all([started(resettingBackend()), started(resettingBackend()), started(resettingBackend())])
  const handler = createStickyFetch({ peers: broken.map((b) => b.address), proxy: { retries: 1 } })
  const response = await handler(clientRequest('/'))
  assert.is(response.status, 502)
  assert.is(
    broken.reduce((sum, b) => sum + b.connections(), 0),
    2,
  )
})

test('should remember a failed peer: the next new client goes elsewhere without a retry', async () => {
  const broken = await started(resettingBackend())
  const live = await started(echoBackend('live'))
  const handler = createStickyFetch({ peers: [broken.address, live.address] })
  for (let i = 0; i < 4; i += 1) assert.is((await handler(clientRequest('/'))).status, 200)
  assert.is(broken.connections(), 1)
  assert.is(live.connections() >= 1, true)
})

test('should answer 502 with a short body when no peer is usable', async () => {
  const backend = await started(echoBackend('b1'))
  const handler = createStickyFetch({ peers: [{ address: backend.address, down: true }] })
  const response = await handler(clientRequest('/'))
  assert.is(response.status, 502)
  assert.ok((await response.text()).length < 100)
  assert.equal(response.headers.getSetCookie(), [])
  assert.is(backend.connections(), 0)
})

test('should answer 504 when the response head does not come within the timeout', async () => {
  const silent = await started(listen(() => undefined))
  const handler = createStickyFetch({ peers: [silent.address], proxy: { timeout: 50 } })
  const response = await handler(clientRequest('/'))
  assert.is(response.status, 504)
  assert.is(silent.connections(), 1, 'a timed-out request is not sent again')
})

test('should not time out a peer while the client does not read the response body', async () => {
  const peer = await started(
    listen((_req, res) => {
      res.writeHead(200)
      res.write('first ')
      res.end('last')
    }),
  )
  const handler = createStickyFetch({ peers: [peer.address], proxy: { timeout: 50 } })
  const response = await handler(clientRequest('/'))
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  // The client takes four windows before reading: its slowness, not the peer's silence.
  await new Promise((resolve) => setTimeout(resolve, 200))
  let text = ''
  for (let read = await reader.read(); !read.done; read = await reader.read()) text += new TextDecoder().decode(read.value)
  assert.is(text, 'first last')
  assert.is(handler.balancer.decide(pinnedTo(handler, peer)).outcome, 'hit')
})

// Bodies over BUFFERED_BODY_LIMIT, or of unknown length, stream: a break after the head cuts the client's response.
const STREAMED_LENGTH = BUFFERED_BODY_LIMIT + 1

test('should cut the streamed response of a peer that goes silent mid-body, and blame it', async () => {
  const peer = await started(
    listen((_req, res) => {
      res.writeHead(200, { 'content-length': String(STREAMED_LENGTH) })
      res.write('only part')
    }),
  )
  const other = await started(echoBackend('other'))
  const handler = createStickyFetch({ peers: [peer.address, other.address], proxy: { timeout: 50 } })
  const cookie = pinnedTo(handler, peer)
  const response = await handler(clientRequest('/', { headers: { cookie } }))
  assert.is(response.status, 200, 'the head was relayed')
  const body = await response.text().then(
    () => 'complete',
    (error: unknown) => error,
  )
  assert.instance(body, Error, "the client's body is cut, not ended as if complete")
  assert.is(handler.balancer.decide(cookie).outcome, 'repinned', 'peer-cut-response blames the peer')
})

test('should blame a peer that closes mid-body of a streamed response', async () => {
  const peer = await started(rawPeer((socket) => onRequestHead(socket, () => socket.end(`HTTP/1.1 200 OK\r\nContent-Length: ${STREAMED_LENGTH}\r\n\r\nshort`))))
  const other = await started(echoBackend('other'))
  const handler = createStickyFetch({ peers: [peer.address, other.address], proxy: { timeout: 0 } })
  const cookie = pinnedTo(handler, peer)
  const response = await handler(clientRequest('/', { headers: { cookie } }))
  const body = await response.text().then(
    () => 'complete',
    (error: unknown) => error,
  )
  assert.instance(body, Error)
  assert.is(handler.balancer.decide(cookie).outcome, 'repinned')
})

test('should answer 502 and blame a peer that goes silent in a small body, which is read whole before the head goes out', async () => {
  const peer = await started(
    listen((_req, res) => {
      res.writeHead(200, { 'content-length': '100' })
      res.write('only part')
    }),
  )
  const other = await started(echoBackend('other'))
  const events: FetchResponseEvent[] = []
  const handler = createStickyFetch({ peers: [peer.address, other.address], proxy: { timeout: 50 }, onResponse: (event) => void events.push(event) })
  const cookie = pinnedTo(handler, peer)
  const response = await handler(clientRequest('/', { headers: { cookie } }))
  assert.is(response.status, 502, 'peer-cut-response before the head went out: 502, not 504 (the peer had answered)')
  assert.match(await response.text(), 'upstream cut its response')
  assert.is(handler.balancer.decide(cookie).outcome, 'repinned', 'peer-cut-response blames the peer')
  assert.equal(
    events.map((event) => [event.status, event.error, event.attempts]),
    [[502, 'upstream-aborted', 1]],
    'never sent to another peer: the peer may have acted on the request',
  )
})

test('should answer 502 and blame a peer that closes mid-body of a small body', async () => {
  const peer = await started(rawPeer((socket) => onRequestHead(socket, () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort'))))
  const other = await started(echoBackend('other'))
  const handler = createStickyFetch({ peers: [peer.address, other.address], proxy: { timeout: 0 } })
  const cookie = pinnedTo(handler, peer)
  const response = await handler(clientRequest('/', { headers: { cookie } }))
  assert.is(response.status, 502)
  assert.is(handler.balancer.decide(cookie).outcome, 'repinned')
})

test('should relay a small body whole, with its length, and a HEAD answer without reading a body', async () => {
  const body = 'x'.repeat(BUFFERED_BODY_LIMIT)
  const backend = await started(
    listen((req, res) => {
      res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'text/plain' })
      res.end(req.method === 'HEAD' ? undefined : body)
    }),
  )
  const handler = createStickyFetch({ peers: [backend.address] })
  const got = await handler(clientRequest('/'))
  assert.is(got.headers.get('content-length'), String(body.length))
  assert.is(await got.text(), body)
  const head = await handler(clientRequest('/', { method: 'HEAD' }))
  assert.is(head.status, 200)
  assert.is(head.headers.get('content-length'), String(body.length))
  assert.is(await head.text(), '')
})

const encodings: ReadonlyArray<{ keep: boolean }> = [{ keep: false }, { keep: true }]
for (const { keep } of encodings) {
  test(`should ${keep ? 'keep' : 'drop'} Content-Encoding of a gzip response with keepContentEncoding ${keep}`, async () => {
    const zipped = gzipSync('hello hello hello')
    const backend = await started(
      listen((_req, res) => {
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': zipped.length }).end(zipped)
      }),
    )
    const handler = createStickyFetch({ peers: [backend.address], proxy: { keepContentEncoding: keep } })
    const response = await handler(clientRequest('/', { headers: { 'accept-encoding': 'gzip' } }))
    assert.is(response.headers.get('content-encoding'), keep ? 'gzip' : null)
    assert.is(response.headers.get('content-length'), keep ? String(zipped.length) : null)
    assert.is(await response.text(), 'hello hello hello', 'the body is the decoded one either way here (Node decodes)')
  })
}

test('should send through proxy.fetch when given', async () => {
  const backend = await started(echoBackend('b1'))
  const sent: string[] = []
  const handler = createStickyFetch({
    peers: [backend.address],
    proxy: {
      fetch: (request) => {
        sent.push(`${request.method} ${request.url} ${request.redirect}`)
        return fetch(request)
      },
    },
  })
  assert.is((await handler(clientRequest('/a?b'))).status, 200)
  assert.equal(sent, [`GET ${backend.url}/a?b manual`])
})

test('should stream a request body to the peer as it arrives', async () => {
  const backend = await started(listen(async (req, res) => res.end(`${req.headers['transfer-encoding']} ${await readBody(req)}`)))
  const handler = createStickyFetch({ peers: [backend.address] })
  const response = await handler(clientRequest('/', { method: 'POST', body: streamOf('a'.repeat(30)), duplex: 'half' }))
  assert.is(await response.text(), `chunked ${'a'.repeat(30)}`)
})

/**
 * A peer that takes each request and never completes its response (after `head`, if given, it sends
 * the head and a first chunk): `arrived` when a request is in, `closed` when the proxy side hung up.
 */
async function stalledPeer(head: boolean): Promise<Listening & { arrived: Promise<void>; closed: Promise<void> }> {
  const arrived = signalled('the request reaching the peer')
  const closed = signalled('the proxy aborting the upstream request')
  const server = await started(
    listen((req: IncomingMessage, res: ServerResponse) => {
      req.resume()
      res.once('close', () => closed.signal())
      if (head) {
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.write('first ')
      }
      arrived.signal()
    }),
  )
  return Object.assign(server, { arrived: arrived.done, closed: closed.done })
}

/** A raw client of `url`'s port: sends a GET and gives the socket, to be destroyed mid-exchange. */
async function rawGet(port: number, path: string, scope: Socket[]): Promise<{ socket: Socket; data: Promise<string> }> {
  const socket = connect(port, '127.0.0.1')
  scope.push(socket)
  socket.on('error', () => undefined)
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  socket.write(`GET ${path} HTTP/1.1\r\nHost: shop.example\r\n\r\n`)
  const data = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))))
  return { socket, data }
}

const clientGone = suite('createStickyFetch: a client that goes away')
let sockets: Socket[] = []
clientGone.after.each(async () => {
  for (const socket of sockets) socket.destroy()
  sockets = []
})
/** Servers started by a running `clientGone` case, closed after it. */
const startedGone = closeAfterEach(clientGone)

/**
 * The handler behind a real node:http server, with every answer it resolved with; `called` resolves
 * when the first request reaches the handler.
 */
async function served(handler: StickyFetch, options: ServeOptions = {}): Promise<{ server: Listening; answers: Promise<Response>[]; called: Promise<void> }> {
  const answers: Promise<Response>[] = []
  const first = signalled('a request reaching the handler')
  const server = await startedGone(
    serveFetch((request, env, ctx) => {
      const answer = handler(request, env, ctx)
      answers.push(answer)
      first.signal()
      return answer
    }, options),
  )
  return { server, answers, called: first.done }
}

/** A raw client of the harness: sends a request head and the first bytes of a longer body. */
async function partialUpload(port: number, head: string, scope: Socket[]): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  scope.push(socket)
  socket.on('error', () => undefined)
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  socket.write(`${head}\r\nContent-Length: 1000\r\n\r\n0123456789`)
  return socket
}

clientGone('should abort the upstream request, count no failure and try no other peer when the client leaves before the head', async () => {
  const stalled = await stalledPeer(false)
  const other = await startedGone(echoBackend('other'))
  const handler = createStickyFetch({ peers: [stalled.address, other.address], proxy: { timeout: 0 } })
  const { server, answers } = await served(handler)
  const cookie = pinnedTo(handler, stalled)

  const socket = connect(server.port, '127.0.0.1')
  sockets.push(socket)
  socket.on('error', () => undefined)
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  socket.write(`GET /slow HTTP/1.1\r\nHost: shop.example\r\nCookie: ${cookie}\r\n\r\n`)
  await stalled.arrived
  socket.destroy()
  await stalled.closed

  assert.is(answers.length, 1)
  const answer = await answers[0]
  assert.is(answer?.status, 499)
  assert.is(other.connections(), 0, 'a client abort is not retried on another peer')
  const again = handler.balancer.decide(cookie)
  assert.is(again.outcome, 'hit', 'the peer the client left is still usable: no failure was counted')
  assert.is(again.peer?.address, stalled.address)
})

clientGone('should stop the upstream body when the client leaves mid-download', async () => {
  const stalled = await stalledPeer(true)
  const handler = createStickyFetch({ peers: [stalled.address] })
  const { server, answers } = await served(handler)
  const { socket, data } = await rawGet(server.port, '/download', sockets)
  assert.match(await data, /^HTTP\/1\.1 200 /)
  socket.destroy()
  await stalled.closed
  assert.is((await answers[0])?.status, 200, 'the head had arrived: the peer answered')
  assert.is(handler.balancer.decide(pinnedTo(handler, stalled)).outcome, 'hit')
})

/**
 * Runtimes that abort `request.signal` when the client leaves ('client-gone': 499), and runtimes that
 * do not, where the client's body failing is all the handler sees ('client-body-failed': 400). Nobody
 * reads either answer; what matters is that the peer is not blamed.
 */
const runtimes: ReadonlyArray<readonly [string, ServeOptions, number]> = [
  ['a runtime that aborts request.signal', {}, 499],
  ['a runtime that never aborts request.signal', { abortOnClose: false }, 400],
]

for (const [runtime, serveOptions, status] of runtimes) {
  for (const method of ['POST', 'PUT']) {
    clientGone(`should answer ${status}, count no failure and try no other peer when the client aborts a streamed ${method} (${runtime})`, async () => {
      const stalled = await stalledPeer(false)
      const other = await startedGone(echoBackend('other'))
      const handler = createStickyFetch({ peers: [stalled.address, other.address], proxy: { timeout: 0 } })
      const { server, answers } = await served(handler, serveOptions)
      const cookie = pinnedTo(handler, stalled)

      const socket = await partialUpload(server.port, `${method} /upload HTTP/1.1\r\nHost: shop.example\r\nCookie: ${cookie}`, sockets)
      await stalled.arrived
      socket.destroy()

      const answer = await answers[0]?.catch((error: unknown) => error)
      assert.instance(answer, Response, 'the handler resolved with a response')
      assert.is(handler.balancer.decide(cookie).outcome, 'hit', 'the peer the client left is still usable')
      assert.is(other.connections(), 0, 'a client abort is not retried on another peer')
      assert.is((answer as Response).status, status)
    })
  }
}

clientGone('should not call the peer for a request whose client already left', async () => {
  const backend = await startedGone(echoBackend('b1'))
  const handler = createStickyFetch({ peers: [backend.address] })
  const gone = new AbortController()
  gone.abort()
  const response = await handler(clientRequest('/', { signal: gone.signal }))
  assert.is(response.status, 499)
  assert.is(backend.connections(), 0)
  assert.is(handler.balancer.decide(null).peer?.address, backend.address, 'the peer stays usable')
})

clientGone('should still count a failure when the peer is unreachable and the client stays', async () => {
  const refusing = await startedGone(resettingBackend())
  const live = await startedGone(echoBackend('live'))
  const handler = createStickyFetch({ peers: [refusing.address, live.address], proxy: { retries: 0 } })
  const cookie = pinnedTo(handler, refusing)
  const stays = new AbortController()
  const response = await handler(clientRequest('/', { headers: { cookie }, signal: stays.signal }))
  assert.is(response.status, 502)
  assert.is(handler.balancer.decide(cookie).outcome, 'repinned', "the reset counted as the peer's failure")
})
clientGone.run()

const invalid: ReadonlyArray<{ name: string; options: Parameters<typeof createStickyFetch>[0]; option: string }> = [
  { name: 'a unix socket peer', options: { peers: ['127.0.0.1:1', 'unix:/tmp/app.sock'] }, option: 'peers[1].address' },
  { name: 'negative retries', options: { peers: ['127.0.0.1:1'], proxy: { retries: -1 } }, option: 'proxy.retries' },
  { name: 'a fractional timeout', options: { peers: ['127.0.0.1:1'], proxy: { timeout: 1.5 } }, option: 'proxy.timeout' },
  { name: 'a non-boolean xForwarded', options: { peers: ['127.0.0.1:1'], proxy: { xForwarded: 'yes' as unknown as boolean } }, option: 'proxy.xForwarded' },
  { name: 'an unknown proxy key', options: { peers: ['127.0.0.1:1'], proxy: { bogus: 1 } as never }, option: 'proxy.bogus' },
  { name: "sticky-node's agent", options: { peers: ['127.0.0.1:1'], proxy: { agent: () => undefined } as never }, option: 'proxy.agent' },
  { name: 'an unknown top-level key', options: { peers: ['127.0.0.1:1'], cookei: {} } as never, option: 'cookei' },
  { name: 'an unknown cookie key', options: { peers: ['127.0.0.1:1'], cookie: { expire: 60 } } as never, option: 'cookie.expire' },
  { name: 'an unknown peer key', options: { peers: [{ address: '127.0.0.1:1', wieght: 2 }] } as never, option: 'peers[0].wieght' },
]
for (const { name, options, option } of invalid) {
  test(`should reject ${name} with a StickyConfigError naming ${option}`, () => {
    try {
      createStickyFetch(options)
      assert.unreachable('expected a StickyConfigError')
    } catch (error) {
      assert.instance(error, StickyConfigError)
      assert.is((error as StickyConfigError).option, option)
    }
  })
}

test.run()
