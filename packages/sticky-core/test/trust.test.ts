import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { StickyConfigError } from '../src/errors'
import { formatIPv6 } from '../src/ip'
import { parseTrustList } from '../src/trust'
import { fcParams } from './_fc'

const Trust = suite('parseTrustList')

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255))
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 })
const quad = (b: readonly number[]): string => b.join('.')
const toInt = (b: readonly number[]): number => (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0
const fromInt = (n: number): number[] => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
const network4 = (b: readonly number[], prefix: number): string => quad(fromInt(prefix === 0 ? 0 : (toInt(b) & (~0 << (32 - prefix))) >>> 0))
const bit = (bytes: Uint8Array, i: number): number => ((bytes[i >> 3] as number) >> (7 - (i & 7))) & 1
const network6 = (bytes: Uint8Array, prefix: number): Uint8Array => bytes.map((byte, i) => byte & (0xff << (8 - Math.min(8, Math.max(0, prefix - i * 8)))))

Trust('should trust nobody by default', () => {
  for (const list of [undefined, '', '  ', []]) {
    const trust = parseTrustList(list)
    for (const address of ['127.0.0.1', '::1', '10.0.0.1', undefined]) assert.is(trust.trusts(address), false, `${String(list)} ${address}`)
  }
})

Trust('should read CIDRs, bare addresses and the named sets', () => {
  const trust = parseTrustList(' loopback , 10.0.0.0/8,2001:db8::/32, 198.51.100.7')
  const cases: [string | undefined, boolean][] = [
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:10.20.30.40', true],
    ['10.255.255.255', true],
    ['11.0.0.0', false],
    ['2001:db8:1::5', true],
    ['2001:db9::5', false],
    ['198.51.100.7', true],
    ['198.51.100.8', false],
    ['::2', false],
    ['not an address', false],
    ['', false],
    [undefined, false],
  ]
  for (const [address, expected] of cases) assert.is(trust.trusts(address), expected, String(address))
  const priv = parseTrustList(['private'])
  for (const a of ['10.1.1.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', 'fd12::1', '169.254.169.254', 'fe80::1', 'fe80::1%eth0'])
    assert.ok(priv.trusts(a), a)
  for (const a of ['172.32.0.1', '127.0.0.1', '::1', '8.8.8.8', '2001:db8::1']) assert.not.ok(priv.trusts(a), a)
})

Trust('property: an IPv4 address is trusted inside its network and not outside', () => {
  fc.assert(
    fc.property(v4, fc.integer({ min: 0, max: 32 }), v4, (net, prefix, other) => {
      const trust = parseTrustList(`${network4(net, prefix)}/${prefix}`)
      assert.ok(trust.trusts(quad(net)))
      const inside = prefix === 0 || toInt(other) >>> (32 - prefix) === toInt(net) >>> (32 - prefix)
      assert.is(trust.trusts(quad(other)), inside)
      // A dual-stack socket reports an IPv4 client IPv4-mapped: the same answer.
      assert.is(trust.trusts(`::ffff:${quad(other)}`), inside)
    }),
    fcParams(),
  )
})

Trust('property: an IPv6 address is trusted inside its network and not outside', () => {
  fc.assert(
    fc.property(v6, fc.integer({ min: 0, max: 128 }), v6, (net, prefix, other) => {
      const trust = parseTrustList([`${formatIPv6(network6(net, prefix))}/${prefix}`])
      assert.ok(trust.trusts(formatIPv6(net)))
      let inside = true
      for (let i = 0; i < prefix; i++) if (bit(net, i) !== bit(other, i)) inside = false
      assert.is(trust.trusts(formatIPv6(other)), inside)
      assert.is(trust.trusts(`[${formatIPv6(other)}]`), inside)
    }),
    fcParams(),
  )
})

Trust('property: a prefix past the address width, or host bits past the prefix, is refused naming the option', () => {
  fc.assert(
    fc.property(v4, fc.integer({ min: 0, max: 40 }), (net, prefix) => {
      const text = `${quad(net)}/${prefix}`
      const exact = prefix <= 32 && network4(net, prefix) === quad(net)
      try {
        parseTrustList(text)
        assert.ok(exact, text)
      } catch (error) {
        assert.ok(error instanceof StickyConfigError)
        assert.is((error as StickyConfigError).option, 'proxy.trustProxy')
        assert.is((error as StickyConfigError).value, text)
        assert.not.ok(exact, text)
      }
    }),
    fcParams(),
  )
})

Trust('should refuse what is not a trust list, naming the option and the element', () => {
  const bad: [unknown, string, unknown][] = [
    ['everyone', 'proxy.trustProxy', 'everyone'],
    ['10.0.0.0/8,', 'proxy.trustProxy', ''],
    ['10.0.0.0/33', 'proxy.trustProxy', '10.0.0.0/33'],
    ['10.0.0.0/08', 'proxy.trustProxy', '10.0.0.0/08'],
    ['10.0.0.0/', 'proxy.trustProxy', '10.0.0.0/'],
    ['10.0.0.1/8', 'proxy.trustProxy', '10.0.0.1/8'],
    ['::/129', 'proxy.trustProxy', '::/129'],
    ['fe80::1%eth0', 'proxy.trustProxy', 'fe80::1%eth0'],
    [['loopback', 7], 'proxy.trustProxy[1]', 7],
    [['loopback', '1.2.3'], 'proxy.trustProxy[1]', '1.2.3'],
    [true, 'proxy.trustProxy', true],
    [{ cidr: '10.0.0.0/8' }, 'proxy.trustProxy', { cidr: '10.0.0.0/8' }],
  ]
  for (const [list, option, value] of bad) {
    try {
      parseTrustList(list as string)
      assert.unreachable(JSON.stringify(list))
    } catch (error) {
      assert.instance(error, StickyConfigError)
      assert.is((error as StickyConfigError).option, option, JSON.stringify(list))
      assert.equal((error as StickyConfigError).value, value, JSON.stringify(list))
    }
  }
  try {
    parseTrustList('bogus', 'routes[0].proxy.trustProxy')
    assert.unreachable()
  } catch (error) {
    assert.is((error as StickyConfigError).option, 'routes[0].proxy.trustProxy')
  }
})
Trust('should read the named sets in any case, as CIDRs are read case-insensitively', () => {
  const trust = parseTrustList('LOOPBACK, Private')
  for (const a of ['127.0.0.1', '::1', '10.1.2.3', 'fd00::1']) assert.ok(trust.trusts(a), a)
  assert.not.ok(trust.trusts('203.0.113.7'))
  assert.ok(parseTrustList(['FD00::/8']).trusts('fd00::5'))
})

Trust.run()
