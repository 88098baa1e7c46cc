import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createBalancer } from '../src/balancer'
import { appendForwardedFor, forwardedFields, forwardedNames, upstreamHost } from '../src/forwarding'
import { fcParams } from './_fc'

const ForwardedFor = suite('appendForwardedFor')

ForwardedFor('should append the client to the incoming chain', () => {
  const cases: [Parameters<typeof appendForwardedFor>[0], string | undefined, string | undefined][] = [
    [undefined, '10.0.0.9', '10.0.0.9'],
    [null, '10.0.0.9', '10.0.0.9'],
    ['', '10.0.0.9', '10.0.0.9'],
    ['   ', '10.0.0.9', '10.0.0.9'],
    ['203.0.113.7', '10.0.0.9', '203.0.113.7, 10.0.0.9'],
    ['203.0.113.7,,  198.51.100.1 ,', '10.0.0.9', '203.0.113.7, 198.51.100.1, 10.0.0.9'],
    [['203.0.113.7', '', '198.51.100.1'], '::1', '203.0.113.7, 198.51.100.1, ::1'],
    [['a', 'b'], undefined, 'a, b'],
    ['', undefined, undefined],
    [[], undefined, undefined],
    // A dual-stack listener's IPv4 client: its IPv4 address, not the mapped IPv6 spelling.
    ['203.0.113.7', '::ffff:10.0.0.9', '203.0.113.7, 10.0.0.9'],
    ['', '::FFFF:127.0.0.1', '127.0.0.1'],
    ['', '::ffff:7f00:1', '::ffff:7f00:1'],
    ['', '::ffff:300.0.0.1', '::ffff:300.0.0.1'],
  ]
  for (const [incoming, client, expected] of cases) assert.is(appendForwardedFor(incoming, client), expected, JSON.stringify([incoming, client]))
})

ForwardedFor('property: the result has no empty element, keeps every incoming address in order and ends with the client', () => {
  const element = fc.stringMatching(/^[ \t]*[0-9a-f.:]{0,6}[ \t]*$/)
  const line = fc.array(element, { maxLength: 4 }).map((xs) => xs.join(','))
  fc.assert(
    fc.property(fc.oneof(line, fc.array(line, { maxLength: 3 })), fc.option(fc.stringMatching(/^[0-9a-f.:]{1,6}$/), { nil: undefined }), (incoming, client) => {
      const out = appendForwardedFor(incoming, client)
      const lines = typeof incoming === 'string' ? [incoming] : incoming
      const expected = lines
        .flatMap((l) => l.split(','))
        .map((e) => e.trim())
        .filter((e) => e !== '')
      if (client !== undefined) expected.push(client)
      assert.is(out, expected.length === 0 ? undefined : expected.join(', '))
    }),
    fcParams(),
  )
})
ForwardedFor.run()

const Fields = suite('forwardedFields')

Fields("should write For, Proto and Host as selected, replacing an untrusted client's claims", () => {
  const input = { forwardedFor: '1.2.3.4', client: '10.0.0.9', proto: 'https', host: 'app.example', trusted: true }
  assert.equal(forwardedFields(input, { for: true, proto: true, host: true }), [
    'X-Forwarded-For',
    '1.2.3.4, 10.0.0.9',
    'X-Forwarded-Proto',
    'https',
    'X-Forwarded-Host',
    'app.example',
  ])
  assert.equal(forwardedFields(input, { for: false, proto: true, host: false }), ['X-Forwarded-Proto', 'https'])
  assert.equal(forwardedFields({ ...input, host: '', forwardedFor: '', client: undefined }, { for: true, proto: false, host: true }), [])
  assert.equal(forwardedNames({ for: true, proto: false, host: true }), ['x-forwarded-for', 'x-forwarded-host', 'forwarded'])
  assert.equal(forwardedNames({ for: false, proto: false, host: false, forwarded: true }), ['forwarded'])
  // Nothing selected: the client's fields pass untouched.
  assert.equal(forwardedNames({ for: false, proto: false, host: false, forwarded: false }), [])
})

const select = { for: true, proto: true, host: true, forwarded: true }
const claims = {
  forwardedFor: ['203.0.113.7, 198.51.100.1', '192.0.2.4'],
  forwardedProto: 'HTTPS, http',
  forwardedHost: 'app.example:8443',
  forwarded: 'for=203.0.113.7;proto=https, for="[2001:db8::1]"',
  client: '10.0.0.2',
  proto: 'http',
  host: 'internal:8080',
}

Fields("should keep and extend a trusted hop's fields", () => {
  assert.equal(forwardedFields({ ...claims, trusted: true }, select), [
    'X-Forwarded-For',
    '203.0.113.7, 198.51.100.1, 192.0.2.4, 10.0.0.2',
    'X-Forwarded-Proto',
    'https',
    'X-Forwarded-Host',
    'app.example:8443',
    'Forwarded',
    'for=203.0.113.7;proto=https, for="[2001:db8::1]", for=10.0.0.2;proto=http;host="internal:8080"',
  ])
  // Without our own element, a trusted hop's Forwarded still passes.
  assert.equal(forwardedFields({ ...claims, trusted: true }, { ...select, forwarded: false }).slice(-2), [
    'Forwarded',
    'for=203.0.113.7;proto=https, for="[2001:db8::1]"',
  ])
})

Fields('should replace every claim of an untrusted client with what this hop saw', () => {
  for (const trusted of [false, undefined]) {
    assert.equal(forwardedFields({ ...claims, trusted }, select), [
      'X-Forwarded-For',
      '10.0.0.2',
      'X-Forwarded-Proto',
      'http',
      'X-Forwarded-Host',
      'internal:8080',
      'Forwarded',
      'for=10.0.0.2;proto=http;host="internal:8080"',
    ])
    assert.equal(forwardedFields({ ...claims, trusted }, { ...select, forwarded: false }).includes('Forwarded'), false)
  }
})

Fields("should ignore a trusted hop's Proto and Host that are not a scheme and an authority", () => {
  for (const [proto, host] of [
    ['', ''],
    ['ht tp', 'a b'],
    ['1http', 'evil.example/path'],
    [' , https', ', app.example'],
    ['https:', 'user@app.example'],
  ] as const) {
    const fields = forwardedFields({ ...claims, forwardedProto: proto, forwardedHost: host, trusted: true }, select)
    assert.equal(fields.slice(2, 6), ['X-Forwarded-Proto', 'http', 'X-Forwarded-Host', 'internal:8080'], `${proto} ${host}`)
  }
})

Fields('should write RFC 7239 node names: IPv6 bracketed and quoted, an unknown client as unknown', () => {
  const only = { for: false, proto: false, host: false, forwarded: true }
  const base = { forwardedFor: undefined, proto: 'https', host: 'app.example' }
  assert.equal(forwardedFields({ ...base, client: '::1' }, only), ['Forwarded', 'for="[::1]";proto=https;host=app.example'])
  // An IPv4 client of a dual-stack listener is named by its IPv4 address; other IPv6 forms stay as they are.
  assert.equal(forwardedFields({ ...base, client: '::ffff:10.0.0.1' }, only), ['Forwarded', 'for=10.0.0.1;proto=https;host=app.example'])
  assert.equal(forwardedFields({ ...base, client: '::ffff:0a00:0001' }, only), ['Forwarded', 'for="[::ffff:0a00:0001]";proto=https;host=app.example'])
  assert.equal(forwardedFields({ ...base, client: undefined, host: undefined }, only), ['Forwarded', 'for=unknown;proto=https'])
  assert.equal(forwardedFields({ ...base, client: '10.0.0.1', host: '[::1]:8080' }, only), ['Forwarded', 'for=10.0.0.1;proto=https;host="[::1]:8080"'])
})

Fields('property: an untrusted client cannot put any of its own text in the fields', () => {
  const text = fc.string({ maxLength: 20 })
  const lines = fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.constant(undefined))
  fc.assert(
    fc.property(lines, lines, lines, lines, fc.boolean(), (forwardedFor, forwardedProto, forwardedHost, forwarded, withForwarded) => {
      const input = { forwardedFor, forwardedProto, forwardedHost, forwarded, client: '10.0.0.2', proto: 'https', host: 'app.example' }
      assert.equal(forwardedFields(input, { ...select, forwarded: withForwarded }), [
        'X-Forwarded-For',
        '10.0.0.2',
        'X-Forwarded-Proto',
        'https',
        'X-Forwarded-Host',
        'app.example',
        ...(withForwarded ? ['Forwarded', 'for=10.0.0.2;proto=https;host=app.example'] : []),
      ])
    }),
    fcParams(),
  )
})

Fields("property: a trusted hop's chain is kept in order and ends with the client", () => {
  const address = fc.stringMatching(/^[0-9a-f.:]{1,8}$/)
  fc.assert(
    fc.property(fc.array(address, { maxLength: 4 }), address, (chain, client) => {
      const fields = forwardedFields({ forwardedFor: chain.join(', '), client, proto: 'http', host: 'h', trusted: true }, select)
      assert.is(fields[1], [...chain, client].join(', '))
      assert.is(fields[7], `for=${client.includes(':') ? `"[${client}]"` : client};proto=http;host=h`)
    }),
    fcParams(),
  )
})
Fields('should drop exactly the selected names, Forwarded whenever any is selected', () => {
  assert.equal(forwardedNames({ for: true, proto: false, host: false }), ['x-forwarded-for', 'forwarded'])
  assert.equal(forwardedNames({ for: false, proto: true, host: false }), ['x-forwarded-proto', 'forwarded'])
  assert.equal(forwardedNames({ for: false, proto: false, host: true }), ['x-forwarded-host', 'forwarded'])
})

Fields('should quote what is not a token in Forwarded, escaping quotes and backslashes', () => {
  const only = { for: false, proto: false, host: false, forwarded: true }
  const base = { forwardedFor: undefined, proto: 'https', host: 'app.example', client: '10.0.0.1' }
  assert.equal(forwardedFields({ ...base, client: '' }, only), ['Forwarded', 'for=unknown;proto=https;host=app.example'])
  assert.equal(forwardedFields({ ...base, client: 'a b' }, only), ['Forwarded', 'for="a b";proto=https;host=app.example'])
  assert.equal(forwardedFields({ ...base, proto: 'not a scheme' }, only), ['Forwarded', 'for=10.0.0.1;proto="not a scheme";host=app.example'])
  assert.equal(forwardedFields({ ...base, host: 'a"b\\c' }, only), ['Forwarded', 'for=10.0.0.1;proto=https;host="a\\"b\\\\c"'])
})

Fields("should drop a trusted hop's empty Forwarded elements", () => {
  const input = {
    forwardedFor: undefined,
    client: '10.0.0.1',
    proto: 'http',
    host: 'app.example',
    trusted: true,
    forwarded: [' , for=1.2.3.4,', ' ', 'for=5.6.7.8 '],
  }
  assert.equal(forwardedFields(input, { for: false, proto: false, host: true, forwarded: false }), [
    'X-Forwarded-Host',
    'app.example',
    'Forwarded',
    'for=1.2.3.4, for=5.6.7.8',
  ])
})

Fields("should replace a trusted hop's scheme longer than 32 characters and authority longer than 255", () => {
  const select = { for: false, proto: true, host: true }
  const input = { forwardedFor: undefined, client: '10.0.0.1', proto: 'http', host: 'app.example', trusted: true }
  const scheme = `a${'b'.repeat(31)}`
  assert.equal(forwardedFields({ ...input, forwardedProto: scheme, forwardedHost: 'h'.repeat(255) }, select), [
    'X-Forwarded-Proto',
    scheme,
    'X-Forwarded-Host',
    'h'.repeat(255),
  ])
  assert.equal(forwardedFields({ ...input, forwardedProto: `${scheme}c`, forwardedHost: 'h'.repeat(256) }, select), [
    'X-Forwarded-Proto',
    'http',
    'X-Forwarded-Host',
    'app.example',
  ])
})

Fields.run()

const Host = suite('upstreamHost')

Host('should name the peer, without the default port of its scheme', () => {
  const { peers } = createBalancer({
    peers: [
      '127.0.0.1:9001',
      '127.0.0.1',
      '[::1]:8080',
      'https://app.internal',
      'https://app.internal:8443',
      'http://[::1]',
      'backend.local:80',
      'unix:/run/app.sock',
    ],
  })
  assert.equal(peers.map(upstreamHost), [
    '127.0.0.1:9001',
    '127.0.0.1',
    '[::1]:8080',
    'app.internal',
    'app.internal:8443',
    '[::1]',
    'backend.local',
    'localhost',
  ])
})
Host.run()
