import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../src/headers'
import { fcParams } from './_fc'

/** sticky-core's hop-by-hop set, plus `Trailer`: fetch has no trailers to announce. */
const FIXED_HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/)
const fieldValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/)

/** The names a Connection header lists, written out independently of the code under test. */
function connectionNames(headers: Headers): string[] {
  return (headers.get('connection') ?? '').split(',').map((name) => name.trim().toLowerCase())
}

const upstream = suite('upstreamRequestHeaders')

upstream('should drop hop-by-hop headers, those named in Connection, Host and Expect', () => {
  const incoming = new Headers({
    host: 'proxy.example',
    expect: '100-continue',
    connection: 'keep-alive, X-Hop',
    'keep-alive': 'timeout=5',
    'x-hop': 'private to this hop',
    te: 'trailers',
    upgrade: 'h2c',
    'proxy-authorization': 'Basic eA==',
    accept: 'text/html',
    cookie: 'route=abc',
  })
  const headers = upstreamRequestHeaders(incoming, undefined)
  assert.equal([...headers.keys()].sort(), ['accept', 'cookie'])
})

for (const name of FIXED_HOP_BY_HOP) {
  upstream(`should drop ${name} in both directions`, () => {
    const fields = new Headers({ [name]: name === 'connection' ? 'close' : '1', accept: 'text/html' })
    assert.equal([...upstreamRequestHeaders(fields, undefined).keys()], ['accept'])
    assert.equal([...downstreamResponseHeaders(fields, false).keys()], ['accept'])
  })
}

const connections: ReadonlyArray<[string, string[]]> = [
  ['close', ['close']],
  ['X-Trace, keep-alive', ['x-trace', 'keep-alive']],
  [' , ,x-a ,  X-B', ['x-a', 'x-b']],
]
for (const [connection, named] of connections) {
  upstream(`should drop what "Connection: ${connection}" names, in both directions`, () => {
    const fields = new Headers({ connection, accept: 'text/html' })
    for (const name of named) fields.set(name, '1')
    assert.equal([...upstreamRequestHeaders(fields, undefined).keys()], ['accept'])
    assert.equal([...downstreamResponseHeaders(fields, false).keys()], ['accept'])
  })
}

const forwardedCases: ReadonlyArray<{
  name: string
  incoming: Record<string, string>
  client: string | undefined
  trusted: boolean
  expected: Record<string, string>
}> = [
  {
    name: 'should start X-Forwarded-For with the client',
    incoming: {},
    client: '203.0.113.7',
    trusted: false,
    expected: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' },
  },
  {
    name: "should replace an untrusted client's X-Forwarded-For, -Proto, -Host and Forwarded by what this hop saw",
    incoming: { 'x-forwarded-for': '198.51.100.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil.example', forwarded: 'for=198.51.100.1' },
    client: '203.0.113.7',
    trusted: false,
    expected: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' },
  },
  {
    name: "should extend a trusted proxy's X-Forwarded-For and keep its -Proto, -Host and Forwarded",
    incoming: { 'x-forwarded-for': '198.51.100.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'edge.example', forwarded: 'for=198.51.100.1' },
    client: '203.0.113.7',
    trusted: true,
    expected: {
      'x-forwarded-for': '198.51.100.1, 203.0.113.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'edge.example',
      forwarded: 'for=198.51.100.1',
    },
  },
  {
    name: 'should leave X-Forwarded-For out when the client is unknown, never passing the claim on',
    incoming: { 'x-forwarded-for': '198.51.100.1' },
    client: undefined,
    trusted: false,
    expected: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' },
  },
]
for (const { name, incoming, client, trusted, expected } of forwardedCases) {
  upstream(name, () => {
    const headers = upstreamRequestHeaders(new Headers(incoming), { client, proto: 'https', host: 'shop.example', trusted })
    assert.equal(Object.fromEntries(headers), expected)
  })
}

upstream("should set the request id in place of the client's field of that name", () => {
  const incoming = new Headers({ 'x-request-id': 'forged', accept: 'text/html' })
  const headers = upstreamRequestHeaders(incoming, undefined, { name: 'X-Request-Id', value: 'id-1' })
  assert.equal(Object.fromEntries(headers), { accept: 'text/html', 'x-request-id': 'id-1' })
  assert.equal(Object.fromEntries(upstreamRequestHeaders(incoming, undefined)), { accept: 'text/html', 'x-request-id': 'forged' }, 'untouched when off')
})

upstream('should keep every end-to-end header and no hop-by-hop one', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.oneof(token, fc.constantFrom(...FIXED_HOP_BY_HOP, 'host', 'expect')), fieldValue), { maxLength: 12 }),
      fc.array(token, { maxLength: 3 }),
      (fields, named) => {
        const incoming = new Headers(fields)
        if (named.length > 0) incoming.set('connection', named.join(', '))
        const hopByHop = new Set([...FIXED_HOP_BY_HOP, ...connectionNames(incoming), 'host', 'expect'])
        const headers = upstreamRequestHeaders(incoming, undefined)
        for (const [name, value] of incoming) {
          assert.is(headers.get(name), hopByHop.has(name) ? null : value, name)
        }
        for (const name of headers.keys()) assert.ok(incoming.has(name), name)
      },
    ),
    fcParams(),
  )
})
upstream.run()

const downstream = suite('downstreamResponseHeaders')

downstream('should keep each upstream Set-Cookie as its own header', () => {
  const response = new Headers([
    ['set-cookie', 'a=1; Path=/'],
    ['set-cookie', 'b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT'],
  ])
  const headers = downstreamResponseHeaders(response, false)
  assert.equal(headers.getSetCookie(), ['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT'])
})

downstream('should drop hop-by-hop headers and those named in Connection', () => {
  const response = new Headers({
    connection: 'keep-alive, X-Upstream-Hop',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'x-upstream-hop': '1',
    'content-type': 'text/plain',
  })
  assert.equal([...downstreamResponseHeaders(response, false).keys()], ['content-type'])
})

const encodings: ReadonlyArray<{ encoding: string | undefined; keep: boolean; kept: boolean }> = [
  { encoding: 'gzip', keep: false, kept: false },
  { encoding: 'br', keep: false, kept: false },
  { encoding: 'gzip', keep: true, kept: true },
  { encoding: 'identity', keep: false, kept: true },
  { encoding: undefined, keep: false, kept: true },
]
for (const { encoding, keep, kept } of encodings) {
  downstream(`should ${kept ? 'keep' : 'drop'} Content-Length with Content-Encoding ${String(encoding)} (keepContentEncoding ${keep})`, () => {
    const response = new Headers({ 'content-length': '28', 'content-type': 'text/plain' })
    if (encoding !== undefined) response.set('content-encoding', encoding)
    const headers = downstreamResponseHeaders(response, keep)
    assert.is(headers.get('content-length'), kept ? '28' : null)
    assert.is(headers.get('content-encoding'), kept ? (encoding ?? null) : null)
    assert.is(headers.get('content-type'), 'text/plain')
  })
}

downstream('should never let a copy differ from the original in an end-to-end header', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.oneof(token, fc.constantFrom(...FIXED_HOP_BY_HOP, 'set-cookie')), fieldValue), { maxLength: 12 }), (fields) => {
      const response = new Headers(fields)
      const headers = downstreamResponseHeaders(response, true)
      const hopByHop = new Set([...FIXED_HOP_BY_HOP, ...connectionNames(response)])
      assert.equal(headers.getSetCookie(), hopByHop.has('set-cookie') ? [] : response.getSetCookie())
      for (const [name, value] of response) {
        if (name !== 'set-cookie') assert.is(headers.get(name), hopByHop.has(name) ? null : value, name)
      }
    }),
    fcParams(),
  )
})
downstream.run()
