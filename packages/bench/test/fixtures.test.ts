import { parse as referenceParse } from 'cookie'
import fc from 'fast-check'
import { createBalancer, parseCookie } from 'sticky-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { hostileHeaders, hugeHeader, peerAddresses, typicalHeader } from '../src/fixtures'
import { fcParams } from './_fc'

const name = fc.constantFrom('route', 'sticky', '__Host-route', 'r')
const value = fc.string({ unit: fc.constantFrom('a', 'f', '0', '9', '-', '_'), minLength: 1, maxLength: 64 })

const peers = suite('peerAddresses')

peers('should give n distinct addresses that a balancer accepts', () => {
  for (const n of [1, 3, 256, 10_000]) {
    const addresses = peerAddresses(n)
    assert.is(addresses.length, n)
    assert.is(new Set(addresses).size, n)
    assert.is(createBalancer({ peers: addresses }).peers.length, n)
  }
})

peers('should give a prefix of a longer list', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 600 }), (a, b) => {
      const [short, long] = a <= b ? [a, b] : [b, a]
      assert.equal(peerAddresses(long).slice(0, short), peerAddresses(short))
    }),
    fcParams(50),
  )
})

peers.run()

const typical = suite('typicalHeader')

typical('should hide the cookie among others, where both parsers find it', () => {
  fc.assert(
    fc.property(name, value, (n, v) => {
      const header = typicalHeader(n, v)
      assert.is(parseCookie(header, n), v)
      assert.is(referenceParse(header)[n], v)
      assert.ok(!header.startsWith(`${n}=`))
    }),
    fcParams(),
  )
})

typical.run()

const huge = suite('hugeHeader')

huge('should be exactly 64 KiB with the cookie last', () => {
  fc.assert(
    fc.property(name, value, (n, v) => {
      const header = hugeHeader(n, v)
      assert.is(header.length, 64 * 1024)
      assert.ok(header.endsWith(`; ${n}=${v}`))
      assert.is(parseCookie(header, n), v)
    }),
    fcParams(20),
  )
})

huge.run()

const hostile = suite('hostileHeaders')

hostile('should be the size asked for and never carry a sticky cookie', () => {
  for (const bytes of [1024, 16 * 1024]) {
    const headers = hostileHeaders(bytes)
    assert.is(headers.length, 5)
    for (const [label, header] of headers) {
      assert.is(header.length, bytes, label)
      assert.is(parseCookie(header, 'route'), undefined, label)
      assert.is(referenceParse(header)['route'], undefined, label)
    }
    assert.is(new Set(headers.map(([label]) => label)).size, headers.length)
  }
})

hostile.run()
