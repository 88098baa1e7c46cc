import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { StickyConfigError } from '../src/errors'
import { formatPeerLine, parsePeerLine } from '../src/peer-line'
import type { PeerOptions } from '../src/peers'
import { fcParams } from './_fc'

const Line = suite('parsePeerLine')

Line('should read an address alone as a peer with only its address', () => {
  assert.equal(parsePeerLine('  10.0.0.1:8080 ', 'STICKY_PEERS'), { address: '10.0.0.1:8080' })
})

Line('should read every nginx server parameter, in any order', () => {
  assert.equal(parsePeerLine('10.0.0.1:8080 drain route=a fail_timeout=30s\tmax_fails=3 weight=2 backup down', 'p'), {
    address: '10.0.0.1:8080',
    drain: true,
    route: 'a',
    failTimeout: 30_000,
    maxFails: 3,
    weight: 2,
    backup: true,
    down: true,
  })
})

Line('should read a bare fail_timeout as seconds, as nginx does', () => {
  assert.equal(parsePeerLine('a:1 fail_timeout=10', 'p').failTimeout, 10_000)
})

Line('should name the option and the line in every error', () => {
  const cases: [string, RegExp][] = [
    ['', /starts with its address/],
    ['weight=2', /starts with its address/],
    ['a:1 weight=x', /weight= expects a non-negative integer, got "x"/],
    ['a:1 weight=-1', /weight= expects a non-negative integer/],
    ['a:1 max_fails=1.5', /max_fails= expects a non-negative integer/],
    ['a:1 fail_timeout=soon', /fail_timeout= expects a duration such as 10s, got "soon"/],
    ['a:1 route=', /route= needs a value/],
    ['a:1 slow_start=10s', /unknown parameter "slow_start=10s" \(expected weight=/],
    ['a:1 backups', /unknown parameter "backups"/],
    ['a:1 backup=1', /unknown parameter "backup=1"/],
    ['a:1 weight=1 weight=2', /weight= given twice/],
    ['a:1 down down', /down given twice/],
  ]
  for (const [line, reason] of cases) {
    try {
      parsePeerLine(line, 'routes[1].peers[0]')
      assert.unreachable(line)
    } catch (error) {
      assert.instance(error, StickyConfigError, line)
      const e = error as StickyConfigError
      assert.is(e.option, 'routes[1].peers[0]', line)
      assert.is(e.value, line, line)
      assert.match(e.message, reason, line)
    }
  }
})

const Format = suite('formatPeerLine')

Format('should write the parameters in nginx notation', () => {
  assert.is(
    formatPeerLine({ address: 'a:1', weight: 2, maxFails: 0, failTimeout: '1m30s', route: 'x', backup: true, drain: true }),
    'a:1 weight=2 max_fails=0 fail_timeout=1m30s route=x backup drain',
  )
  assert.is(formatPeerLine({ address: 'a:1', down: false }), 'a:1')
})

Format('should refuse what a line cannot hold', () => {
  assert.throws(() => formatPeerLine({ address: 'a b' }), /cannot be written/)
  assert.throws(() => formatPeerLine({ address: 'a:1', route: 'x y' }), /cannot be written/)
  assert.throws(() => formatPeerLine({ address: 'a:1', failTimeout: -1 }), /not a duration/)
})

const token = fc.stringMatching(/^[!-<>-~]{1,20}$/)
const peerOptions: fc.Arbitrary<PeerOptions> = fc.record(
  {
    address: token,
    weight: fc.integer({ min: 0, max: 999_999_999 }),
    maxFails: fc.integer({ min: 0, max: 999_999_999 }),
    failTimeout: fc.integer({ min: 0, max: 10 * 24 * 3_600_000 }),
    route: fc.stringMatching(/^[!-~]{1,20}$/),
    backup: fc.constant(true),
    down: fc.constant(true),
    drain: fc.constant(true),
  },
  { requiredKeys: ['address'] },
)

Format('property: any peer options written as a line read back to the same options', () => {
  fc.assert(
    fc.property(peerOptions, fc.constantFrom(' ', '\t', '  '), (peer, space) => {
      const line = formatPeerLine(peer).replaceAll(' ', space)
      assert.equal(parsePeerLine(line, 'p'), { ...peer })
    }),
    fcParams(),
  )
})

Format('property: any text either reads as a peer or throws StickyConfigError naming the option', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (line) => {
      try {
        const peer = parsePeerLine(line, 'opt')
        assert.is(peer.address, line.trim().split(/\s+/)[0])
      } catch (error) {
        assert.instance(error, StickyConfigError)
        assert.is((error as StickyConfigError).option, 'opt')
      }
    }),
    fcParams(),
  )
})

Line('should refuse a count of 10 digits, which no peer needs', () => {
  assert.is(parsePeerLine('a:1 weight=999999999', 'p').weight, 999_999_999)
  assert.throws(() => parsePeerLine('a:1 weight=1000000000', 'p'), /weight= expects a non-negative integer/)
  assert.throws(() => parsePeerLine('a:1 max_fails=1000000000', 'p'), /max_fails= expects a non-negative integer/)
})

Line.run()
Format('should refuse an address with = or an empty route, and a failTimeout that is no duration, with a StickyConfigError', () => {
  for (const peer of [
    { address: 'weight=1' },
    { address: 'a:1', route: '' },
    { address: 'a:1', failTimeout: -1 },
    { address: 'a:1', failTimeout: 1.5 },
  ] as PeerOptions[]) {
    try {
      formatPeerLine(peer, 'routes[0].peers[2]')
      assert.unreachable(JSON.stringify(peer))
    } catch (error) {
      assert.instance(error, StickyConfigError, JSON.stringify(peer))
      assert.is((error as StickyConfigError).option, 'routes[0].peers[2]')
    }
  }
})

Format('should write no flag that is false', () => {
  assert.is(formatPeerLine({ address: 'a:1', backup: false, down: false, drain: false }), 'a:1')
})

Format.run()
