import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { parseAddress } from '../src/address'
import { StickyConfigError } from '../src/errors'
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../src/ip'
import { fcParams } from './_fc'
import { arbitraryIPv6Bytes, expectConfigError, whatwgIPv6 } from './_balancer'

const hex = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : Buffer.from(bytes).toString('hex'))

// ---------------------------------------------------------------- parseIPv4
const IPv4 = suite('parseIPv4')

const ipv4Valid: ReadonlyArray<[string, string]> = [
  ['127.0.0.1', '7f000001'],
  ['0.0.0.0', '00000000'],
  ['255.255.255.255', 'ffffffff'],
  ['10.20.30.40', '0a141e28'],
]
for (const [text, bytes] of ipv4Valid) {
  IPv4(`should parse ${text}`, () => {
    assert.is(hex(parseIPv4(text)), bytes)
  })
}

const ipv4Invalid: readonly string[] = [
  '',
  '1.2.3',
  '1.2.3.4.5',
  '256.1.1.1',
  '1..2.3',
  '.1.2.3',
  '1.2.3.',
  '01.2.3.4',
  '1.2.3.00',
  '1.2.3.4a',
  '1.2.3.1000',
  '-1.2.3.4',
  ' 1.2.3.4',
]
for (const text of ipv4Invalid) {
  IPv4(`should refuse ${JSON.stringify(text)}`, () => {
    assert.is(parseIPv4(text), undefined)
  })
}

IPv4('should round-trip every address through formatIPv4', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
      assert.equal(parseIPv4(formatIPv4(bytes)), bytes)
    }),
    fcParams(),
  )
})
IPv4.run()

// ---------------------------------------------------------------- parseIPv6
const IPv6 = suite('parseIPv6')

const ipv6Valid: ReadonlyArray<[string, string]> = [
  ['::', '00000000000000000000000000000000'],
  ['::1', '00000000000000000000000000000001'],
  ['1::', '00010000000000000000000000000000'],
  ['2001:DB8::1', '20010db8000000000000000000000001'],
  ['2001:db8:0:0:0:0:0:1', '20010db8000000000000000000000001'],
  ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
  ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
  ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
  ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
]
for (const [text, bytes] of ipv6Valid) {
  IPv6(`should parse ${text}`, () => {
    assert.is(hex(parseIPv6(text)), bytes)
  })
}

const ipv6Invalid: readonly string[] = [
  '',
  ':',
  ':::',
  '1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:8:9',
  '1::2::3',
  '12345::',
  'g::',
  '::1%eth0',
  '1:2:3:4:5:6:7:1.2.3.4',
  '::1.2.3',
  '::256.1.1.1',
  '1.2.3.4::',
  ':1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:',
  '1:2:3:4:5:6:7:8::',
]
for (const text of ipv6Invalid) {
  IPv6(`should refuse ${JSON.stringify(text)}`, () => {
    assert.is(parseIPv6(text), undefined)
  })
}

IPv6('should round-trip every address through formatIPv6', () => {
  fc.assert(
    fc.property(arbitraryIPv6Bytes, (bytes) => {
      assert.equal(parseIPv6(formatIPv6(bytes)), bytes)
    }),
    fcParams(1000),
  )
})

IPv6('should never throw, whatever the text', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFg:.%'), maxLength: 45 }), (text) => {
      const bytes = parseIPv6(text)
      assert.ok(bytes === undefined || bytes.length === 16)
    }),
    fcParams(1000),
  )
})
IPv6.run()

// ---------------------------------------------------------------- formatIPv6
const Format6 = suite('formatIPv6')

// Expected strings are what nginx's ngx_inet6_ntop prints, worked out by hand from its source.
const nginxForms: ReadonlyArray<[string, string]> = [
  ['::', '::'],
  ['::1', '::1'],
  ['1::', '1::'],
  ['2001:db8::1', '2001:db8::1'],
  ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
  ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
  ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ['fe80::AB:cd', 'fe80::ab:cd'],
  ['::ffff:0102:0304', '::ffff:1.2.3.4'],
  ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
  ['::1.2.3.4', '::1.2.3.4'],
  ['::102', '::0.0.1.2'],
  ['::ff', '::ff'],
  ['::101', '::101'],
  ['::1:0', '::0.1.0.0'],
  ['::fffe:1.2.3.4', '::fffe:102:304'],
  ['0:0:0:0:0:1:0:0', '::1:0:0'],
]
for (const [input, printed] of nginxForms) {
  Format6(`should print ${input} as nginx does: ${printed}`, () => {
    const bytes = parseIPv6(input)
    assert.ok(bytes)
    assert.is(formatIPv6(bytes), printed)
  })
}

Format6('should print as the WHATWG URL serialiser wherever nginx keeps hex (RFC 5952)', () => {
  fc.assert(
    fc.property(arbitraryIPv6Bytes, (bytes) => {
      const printed = formatIPv6(bytes)
      if (printed.includes('.')) return
      assert.is(printed, whatwgIPv6(bytes))
    }),
    fcParams(1000),
  )
})

Format6('should use dotted quads only for addresses that start with five or more zero groups', () => {
  fc.assert(
    fc.property(arbitraryIPv6Bytes, (bytes) => {
      const printed = formatIPv6(bytes)
      const leadingZeroBytes = bytes.findIndex((b) => b !== 0)
      if (printed.includes('.')) assert.ok(leadingZeroBytes >= 10 || leadingZeroBytes === -1, printed)
    }),
    fcParams(1000),
  )
})
Format6.run()

// ---------------------------------------------------------------- parseAddress
const Address = suite('parseAddress')

interface AddressCase {
  readonly text: string
  readonly routeKey: string
  readonly address: string
  readonly origin: string
  readonly host?: string
  readonly port?: number
  readonly protocol?: 'http:' | 'https:'
}
const addressCases: readonly AddressCase[] = [
  {
    text: '127.0.0.1:9001',
    routeKey: '127.0.0.1:9001',
    address: '127.0.0.1:9001',
    origin: 'http://127.0.0.1:9001',
    host: '127.0.0.1',
    port: 9001,
    protocol: 'http:',
  },
  { text: '127.0.0.1', routeKey: '127.0.0.1:80', address: '127.0.0.1:80', origin: 'http://127.0.0.1:80', host: '127.0.0.1', port: 80 },
  { text: '10.0.0.1:08080', routeKey: '10.0.0.1:8080', address: '10.0.0.1:8080', origin: 'http://10.0.0.1:8080', port: 8080 },
  { text: '[::1]:9001', routeKey: '[::1]:9001', address: '[::1]:9001', origin: 'http://[::1]:9001', host: '::1', port: 9001 },
  { text: '[2001:DB8:0:0:0:0:0:1]', routeKey: '[2001:db8::1]:80', address: '[2001:db8::1]:80', origin: 'http://[2001:db8::1]:80', host: '2001:db8::1' },
  { text: '[::ffff:7f00:1]:81', routeKey: '[::ffff:127.0.0.1]:81', address: '[::ffff:127.0.0.1]:81', origin: 'http://[::ffff:127.0.0.1]:81' },
  {
    text: 'App-1.Example.COM:8080',
    routeKey: 'app-1.example.com:8080',
    address: 'app-1.example.com:8080',
    origin: 'http://app-1.example.com:8080',
    host: 'app-1.example.com',
  },
  { text: 'localhost', routeKey: 'localhost:80', address: 'localhost:80', origin: 'http://localhost:80' },
  {
    text: 'http://app.internal',
    routeKey: 'app.internal:80',
    address: 'http://app.internal:80',
    origin: 'http://app.internal:80',
    port: 80,
    protocol: 'http:',
  },
  {
    text: 'https://app.internal/',
    routeKey: 'app.internal:443',
    address: 'https://app.internal:443',
    origin: 'https://app.internal:443',
    port: 443,
    protocol: 'https:',
  },
  { text: 'HTTPS://10.0.0.2:8443', routeKey: '10.0.0.2:8443', address: 'https://10.0.0.2:8443', origin: 'https://10.0.0.2:8443', protocol: 'https:' },
  { text: 'http://[::1]:9002/', routeKey: '[::1]:9002', address: 'http://[::1]:9002', origin: 'http://[::1]:9002', host: '::1' },
]
for (const c of addressCases) {
  Address(`should canonicalise ${c.text}`, () => {
    const parsed = parseAddress(c.text, 'peers[0].address')
    assert.is(parsed.routeKey, c.routeKey)
    assert.is(parsed.address, c.address)
    assert.is(parsed.target.origin, c.origin)
    assert.is(parsed.target.kind, 'tcp')
    if (parsed.target.kind !== 'tcp') return
    if (c.host !== undefined) assert.is(parsed.target.host, c.host)
    if (c.port !== undefined) assert.is(parsed.target.port, c.port)
    if (c.protocol !== undefined) assert.is(parsed.target.protocol, c.protocol)
  })
}

Address('should give a unix socket its path and a localhost origin', () => {
  const parsed = parseAddress('unix:/var/run/app.sock', 'peers[0].address')
  assert.is(parsed.routeKey, 'unix:/var/run/app.sock')
  assert.equal(parsed.target, { kind: 'unix', protocol: 'http:', socketPath: '/var/run/app.sock', origin: 'http://localhost' })
  assert.is(parsed.ip, undefined)
})

Address('should keep the IP bytes of IP literals only', () => {
  assert.equal(parseAddress('1.2.3.4:5', 'a').ip, { family: 4, bytes: Uint8Array.of(1, 2, 3, 4), port: 5 })
  assert.is(parseAddress('[::1]:5', 'a').ip?.family, 6)
  assert.is(parseAddress('https://[::1]', 'a').ip?.port, 443)
  assert.is(parseAddress('host:5', 'a').ip, undefined)
})

const badAddresses: ReadonlyArray<[unknown, string]> = [
  ['', 'empty'],
  [42, 'a string'],
  ['127.0.0.1:0', 'port'],
  ['127.0.0.1:65536', 'port'],
  ['127.0.0.1:80x', 'port'],
  ['127.0.0.1:', 'port'],
  ['127.0.0.1:123456', 'port'],
  ['256.0.0.1:80', 'IPv4'],
  ['1.2.3:80', 'IPv4'],
  ['010.0.0.1:80', 'IPv4'],
  ['::1', 'brackets'],
  ['[::1', "']'"],
  ['[::1]80', ':port'],
  ['[1::2::3]:80', 'IPv6'],
  ['[::1%eth0]:80', 'IPv6'],
  ['-app:80', 'RFC 1123'],
  ['app-:80', 'RFC 1123'],
  ['app_1:80', 'RFC 1123'],
  ['app..example:80', 'RFC 1123'],
  ['app.example.:80', 'RFC 1123'],
  ['bücher.example:80', 'xn--'],
  [':80', 'host is missing'],
  [' 127.0.0.1:80', 'RFC 1123'],
  ['unix:', 'absolute'],
  ['unix:relative.sock', 'absolute'],
  ['unix:/with space', 'visible ASCII'],
  [`unix:/${'a'.repeat(107)}`, 'at most 107'],
  ['ftp://host', 'http:// or https://'],
  ['http://user@host', 'userinfo'],
  ['http://host/path', 'a path'],
  ['http://host?q', 'a query'],
  ['http://host#f', 'a fragment'],
  ['http://', 'host is missing'],
  ['http://host:0', 'port'],
]
for (const [text, reason] of badAddresses) {
  Address(`should refuse ${JSON.stringify(text)} naming the option and the value`, () => {
    const error = expectConfigError(() => parseAddress(text, 'peers[3].address'), 'peers[3].address')
    assert.is(error.value, text)
    assert.ok(error.message.includes(reason), error.message)
  })
}

Address('should throw only StickyConfigError, whatever the text', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdef:.[]/@?#-_xunihtps '), maxLength: 40 }), (text) => {
      try {
        const parsed = parseAddress(text, 'a')
        // Whatever is accepted is canonical: parsing the route key again gives the same route key.
        assert.is(parseAddress(parsed.routeKey, 'a').routeKey, parsed.routeKey)
      } catch (error) {
        assert.instance(error, StickyConfigError)
      }
    }),
    fcParams(1000),
  )
})
Address.run()
