import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { parseTrustList, upstreamHost } from 'sticky-core'
import type { ForwardedSelection, Peer } from 'sticky-core'
import { upstreamHeaders, type ForwardingRules } from '../src/forwarded'
import { stripForUpstream, stripHopByHop } from '../src/hop-by-hop'
import type { HeaderMap } from '../src/hop-by-hop'
import { appendSetCookie } from '../src/set-cookie'
import { checkProperty } from './_seed'

const HOP_BY_HOP = [
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

const headerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/)
const headerValue = fc.oneof(fc.stringMatching(/^[ -~]{0,20}$/), fc.array(fc.stringMatching(/^[ -~]{0,20}$/), { minLength: 1, maxLength: 3 }))
const headerMap: fc.Arbitrary<HeaderMap> = fc.dictionary(headerName, headerValue, { maxKeys: 8 })

const strip = suite('stripHopByHop')

strip('should remove every hop-by-hop field and the fields Connection names', () => {
  const input: HeaderMap = {
    connection: 'keep-alive, X-Trace , ,upgrade',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    upgrade: 'websocket',
    'x-trace': '1',
    'content-type': 'text/plain',
    'set-cookie': ['a=1', 'b=2'],
  }
  assert.equal({ ...stripHopByHop(input) }, { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] })
})

strip('should read a Connection header given as several lines', () => {
  assert.equal({ ...stripHopByHop({ connection: ['x-a', 'x-b'], 'x-a': '1', 'x-b': '2', 'x-c': '3' }) }, { 'x-c': '3' })
})

strip('should drop Keep-Alive under the Connection: keep-alive every peer sends, and nothing else', () => {
  assert.equal({ ...stripHopByHop({ connection: 'keep-alive', 'keep-alive': 'timeout=5', 'x-a': '1' }) }, { 'x-a': '1' })
})

strip('should still drop what a Connection header lists beside keep-alive', () => {
  assert.equal({ ...stripHopByHop({ connection: 'keep-alive, x-a', 'x-a': '1', 'x-b': '2' }) }, { 'x-b': '2' })
  assert.equal({ ...stripHopByHop({ connection: 'Keep-Alive', close: '1', 'x-b': '2' }) }, { close: '1', 'x-b': '2' })
  assert.equal({ ...stripHopByHop({ connection: 'close', close: '1', 'x-b': '2' }) }, { 'x-b': '2' })
})

strip('should leave the input untouched', () => {
  const input: HeaderMap = { connection: 'close', 'x-a': '1' }
  stripHopByHop(input)
  assert.equal(input, { connection: 'close', 'x-a': '1' })
})

strip('should keep every end-to-end field as it was and drop every hop-by-hop one', () => {
  checkProperty('stripHopByHop', headerMap, fc.subarray(HOP_BY_HOP), (headers, hop) => {
    const input: HeaderMap = { ...headers }
    for (const name of hop) input[name] = 'x'
    const out = stripHopByHop(input)
    for (const name of HOP_BY_HOP) assert.not.ok(name in out, name)
    for (const [name, value] of Object.entries(out)) assert.equal(value, input[name])
    for (const name of Object.keys(input)) {
      if (!HOP_BY_HOP.includes(name) && !(name in out)) {
        // Only a field that the Connection header lists may disappear.
        const listed = String(input['connection'] ?? '')
          .toLowerCase()
          .split(',')
          .map((t) => t.trim())
        assert.ok(listed.includes(name), name)
      }
    }
  })
})

strip.run()

const upstream = suite('stripForUpstream')

upstream('should drop Expect beside the hop-by-hop fields and keep the rest', () => {
  const input: HeaderMap = { expect: '100-continue', connection: 'close', 'content-length': '10', cookie: 'a=1' }
  assert.equal({ ...stripForUpstream(input) }, { 'content-length': '10', cookie: 'a=1' })
})

upstream('should drop the names it is given instead of Expect alone', () => {
  const input: HeaderMap = { expect: '100-continue', 'sec-websocket-key': 'k', te: 'trailers', cookie: 'a=1' }
  assert.equal({ ...stripForUpstream(input, new Set(['expect', 'sec-websocket-key'])) }, { cookie: 'a=1' })
  assert.equal({ ...stripForUpstream(input, new Set(['sec-websocket-key'])) }, { expect: '100-continue', cookie: 'a=1' })
})

upstream('should equal stripHopByHop apart from Expect', () => {
  checkProperty('stripForUpstream', headerMap, (headers) => {
    const expected: HeaderMap = { ...stripHopByHop(headers) }
    delete expected['expect']
    assert.equal({ ...stripForUpstream({ ...headers, expect: '100-continue' }) }, expected)
  })
})

upstream.run()

const cookie = suite('appendSetCookie')

const cookieCases: ReadonlyArray<readonly [string, HeaderMap, string | null, HeaderMap]> = [
  ['no upstream cookie', { a: '1' }, 'route=x', { a: '1', 'set-cookie': ['route=x'] }],
  ['one upstream cookie', { 'set-cookie': 'sid=1' }, 'route=x', { 'set-cookie': ['sid=1', 'route=x'] }],
  ['several upstream cookies', { 'set-cookie': ['sid=1', 'k=2'] }, 'route=x', { 'set-cookie': ['sid=1', 'k=2', 'route=x'] }],
  ['no cookie to add', { 'set-cookie': 'sid=1' }, null, { 'set-cookie': 'sid=1' }],
]
for (const [name, headers, value, expected] of cookieCases) {
  cookie(`should append beside ${name}`, () => {
    assert.equal(appendSetCookie(headers, value), expected)
  })
}

cookie('should not mutate the upstream array', () => {
  const upstream = ['sid=1']
  appendSetCookie({ 'set-cookie': upstream }, 'route=x')
  assert.equal(upstream, ['sid=1'])
})

cookie('should keep the upstream cookies first, in order, and add exactly one', () => {
  checkProperty(
    'appendSetCookie',
    fc.array(fc.stringMatching(/^[a-z]{1,4}=[a-z0-9]{0,4}$/), { maxLength: 4 }),
    fc.stringMatching(/^route=[a-f0-9]{1,8}$/),
    (upstream, ours) => {
      const headers: HeaderMap = upstream.length === 0 ? {} : upstream.length === 1 ? { 'set-cookie': upstream[0] } : { 'set-cookie': upstream }
      const out = appendSetCookie(headers, ours)['set-cookie']
      assert.equal(out, [...upstream, ours])
    },
  )
})

cookie.run()

const forwarded = suite('upstreamHeaders')

function tcpPeer(host: string, port: number, protocol: 'http:' | 'https:' = 'http:'): Peer {
  const origin = `${protocol}//${host.includes(':') ? `[${host}]` : host}:${port}`
  return {
    id: 'x',
    address: 'x',
    route: undefined,
    weight: 1,
    backup: false,
    down: false,
    drain: false,
    maxFails: 1,
    failTimeout: 10_000,
    target: { kind: 'tcp', protocol, host, port, origin },
  }
}

const PEER = tcpPeer('10.0.0.5', 8080)
const CLIENT = { address: '10.0.0.9', protocol: 'http', host: 'shop.example' }
const ALL = { for: true, proto: true, host: true }
const NONE = { for: false, proto: false, host: false }
/** The plugin's forwarding options for `select`, trusting the test client (10.0.0.9) unless `trusted` is false. */
const rules = (select: ForwardedSelection, trusted = true): ForwardingRules => ({
  xForwarded: select,
  trustProxy: parseTrustList(trusted ? '10.0.0.9' : undefined),
  requestId: undefined,
})

forwarded("should write only the selected fields and pass the client's others through", () => {
  const incoming = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'evil.example' }
  assert.equal(upstreamHeaders(incoming, PEER, CLIENT, rules({ for: true, proto: false, host: false }), undefined), {
    'x-forwarded-for': '203.0.113.7, 10.0.0.9',
    'x-forwarded-proto': 'gopher',
    'x-forwarded-host': 'evil.example',
    host: '10.0.0.5:8080',
  })
  assert.equal(upstreamHeaders(incoming, PEER, CLIENT, rules({ for: false, proto: true, host: true }, false), undefined), {
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'shop.example',
    host: '10.0.0.5:8080',
  })
})

forwarded('should start a chain, and append to the one the client sent, in every shape', () => {
  assert.equal(upstreamHeaders({}, PEER, CLIENT, rules(ALL), undefined), {
    'x-forwarded-for': '10.0.0.9',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'shop.example',
    host: '10.0.0.5:8080',
  })
  const chains: ReadonlyArray<readonly [HeaderMap[string], string]> = [
    ['1.1.1.1, 2.2.2.2', '1.1.1.1, 2.2.2.2, 10.0.0.9'],
    [['1.1.1.1', ' 2.2.2.2 ,'], '1.1.1.1, 2.2.2.2, 10.0.0.9'],
    ['', '10.0.0.9'],
    [' , ', '10.0.0.9'],
  ]
  for (const [incoming, expected] of chains) {
    assert.is(upstreamHeaders({ 'x-forwarded-for': incoming }, PEER, CLIENT, rules(ALL), undefined)['x-forwarded-for'], expected, JSON.stringify(incoming))
  }
})

forwarded('should replace the Proto and Host the client claimed, and drop a Host it cannot name', () => {
  const out = upstreamHeaders(
    { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'forged' },
    PEER,
    { address: undefined, protocol: 'http', host: undefined },
    rules(ALL),
    undefined,
  )
  assert.equal(out, { 'x-forwarded-proto': 'http', host: '10.0.0.5:8080' })
})

forwarded("should pass the client's X-Forwarded-* through untouched without xForwarded", () => {
  const incoming = { 'x-forwarded-for': '1.1.1.1', 'x-forwarded-host': 'forged', cookie: 'a=1' }
  assert.equal(upstreamHeaders(incoming, PEER, CLIENT, rules(NONE), undefined), { ...incoming, host: '10.0.0.5:8080' })
})

forwarded("should name the peer in Host, as sticky-core's upstreamHost does", () => {
  const unix: Peer = { ...PEER, target: { kind: 'unix', protocol: 'http:', socketPath: '/run/app.sock', origin: 'http://localhost' } }
  const peers: ReadonlyArray<readonly [Peer, string]> = [
    [PEER, '10.0.0.5:8080'],
    [tcpPeer('app.internal', 80), 'app.internal'],
    [tcpPeer('app.internal', 443, 'https:'), 'app.internal'],
    [tcpPeer('::1', 9000), '[::1]:9000'],
    [unix, 'localhost'],
  ]
  for (const [peer, host] of peers) {
    assert.is(upstreamHeaders({ host: 'client.example' }, peer, CLIENT, rules(ALL), undefined)['host'], host)
    assert.is(upstreamHeaders({ host: 'client.example' }, peer, CLIENT, rules(ALL), undefined)['host'], upstreamHost(peer))
  }
})

forwarded('should end the chain with the client address and keep every other field', () => {
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'))
  checkProperty('upstreamHeaders', headerMap, fc.option(ipv4, { nil: undefined }), fc.constantFrom('http', 'https'), (headers, address, protocol) => {
    const out = upstreamHeaders(headers, PEER, { address, protocol, host: 'h.example' }, rules(ALL, false), undefined)
    if (address !== undefined) assert.ok(String(out['x-forwarded-for']).endsWith(address))
    assert.is(out['x-forwarded-proto'], protocol)
    assert.is(out['x-forwarded-host'], 'h.example')
    for (const [name, value] of Object.entries(headers)) {
      if (!name.startsWith('x-forwarded-') && name !== 'host' && name !== 'forwarded') assert.equal(out[name], value)
    }
  })
})

forwarded.run()
