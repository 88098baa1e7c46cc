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

Fields('should write For, Proto and Host as selected, replacing Proto and Host', () => {
  const input = { forwardedFor: '1.2.3.4', client: '10.0.0.9', proto: 'https', host: 'app.example' }
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
  assert.equal(forwardedNames({ for: true, proto: false, host: true }), ['x-forwarded-for', 'x-forwarded-host'])
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
