import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { StickyConfigError } from '../src/errors'
import { DEFAULT_FAIL_TIMEOUT, DEFAULT_MAX_FAILS, MAX_WEIGHT, parsePeers } from '../src/peers'
import { fcParams } from './_fc'
import { expectConfigError, loopbackPeers } from './_balancer'

const Peers = suite('parsePeers')

Peers('should give a string peer nginx defaults', () => {
  const [only] = parsePeers(['127.0.0.1:9001'])
  assert.ok(only)
  assert.equal(
    { ...only.peer, target: undefined },
    {
      id: '127.0.0.1:9001',
      address: '127.0.0.1:9001',
      route: undefined,
      weight: 1,
      backup: false,
      down: false,
      drain: false,
      maxFails: DEFAULT_MAX_FAILS,
      failTimeout: DEFAULT_FAIL_TIMEOUT,
      target: undefined,
    },
  )
  assert.is(DEFAULT_MAX_FAILS, 1)
  assert.is(DEFAULT_FAIL_TIMEOUT, 10_000)
})

Peers('should keep every parameter of an object peer', () => {
  const [, second] = parsePeers([
    '10.0.0.1:8080',
    { address: 'http://App.internal:8080', weight: 3, maxFails: 0, failTimeout: 500, route: 'b', backup: true, drain: true },
  ])
  assert.ok(second)
  assert.is(second.index, 1)
  assert.is(second.peer.id, 'app.internal:8080')
  assert.is(second.peer.address, 'http://app.internal:8080')
  assert.is(second.peer.weight, 3)
  assert.is(second.peer.maxFails, 0)
  assert.is(second.peer.failTimeout, 500)
  assert.is(second.peer.route, 'b')
  assert.is(second.peer.backup, true)
  assert.is(second.peer.drain, true)
  assert.is(second.peer.down, false)
})

Peers('should freeze the peer and its target', () => {
  const [item] = parsePeers(['[::1]:1'])
  assert.ok(item)
  assert.ok(Object.isFrozen(item.peer))
  assert.ok(Object.isFrozen(item.peer.target))
})

interface BadList {
  readonly name: string
  readonly list: unknown
  readonly option: string
  readonly value: unknown
}
const badLists: readonly BadList[] = [
  { name: 'a list that is not an array', list: '127.0.0.1:1', option: 'peers', value: '127.0.0.1:1' },
  { name: 'an empty list', list: [], option: 'peers', value: [] },
  { name: 'a null peer', list: [null], option: 'peers[0]', value: null },
  { name: 'a number peer', list: [8080], option: 'peers[0]', value: 8080 },
  { name: 'a peer without address', list: [{ weight: 2 }], option: 'peers[0].address', value: undefined },
  { name: 'a bad address', list: ['1.2.3.4:1', '1.2.3.400:1'], option: 'peers[1].address', value: '1.2.3.400:1' },
  { name: 'weight 0', list: [{ address: 'a:1', weight: 0 }], option: 'peers[0].weight', value: 0 },
  { name: 'a negative weight', list: [{ address: 'a:1', weight: -1 }], option: 'peers[0].weight', value: -1 },
  { name: 'a fractional weight', list: [{ address: 'a:1', weight: 1.5 }], option: 'peers[0].weight', value: 1.5 },
  { name: 'a weight above the maximum', list: [{ address: 'a:1', weight: MAX_WEIGHT + 1 }], option: 'peers[0].weight', value: MAX_WEIGHT + 1 },
  { name: 'a string weight', list: [{ address: 'a:1', weight: '2' }], option: 'peers[0].weight', value: '2' },
  { name: 'negative maxFails', list: [{ address: 'a:1', maxFails: -1 }], option: 'peers[0].maxFails', value: -1 },
  { name: 'NaN maxFails', list: [{ address: 'a:1', maxFails: Number.NaN }], option: 'peers[0].maxFails', value: Number.NaN },
  { name: 'failTimeout 0', list: [{ address: 'a:1', failTimeout: 0 }], option: 'peers[0].failTimeout', value: 0 },
  { name: 'infinite failTimeout', list: [{ address: 'a:1', failTimeout: Infinity }], option: 'peers[0].failTimeout', value: Infinity },
  { name: 'a string backup flag', list: [{ address: 'a:1', backup: 'yes' }], option: 'peers[0].backup', value: 'yes' },
  { name: 'a numeric down flag', list: [{ address: 'a:1', down: 1 }], option: 'peers[0].down', value: 1 },
  { name: 'down and drain together', list: [{ address: 'a:1', down: true, drain: true }], option: 'peers[0].drain', value: true },
  { name: 'an empty route', list: [{ address: 'a:1', route: '' }], option: 'peers[0].route', value: '' },
  { name: 'a route with a semicolon', list: [{ address: 'a:1', route: 'a;b' }], option: 'peers[0].route', value: 'a;b' },
  { name: 'a route with a space', list: [{ address: 'a:1', route: 'a b' }], option: 'peers[0].route', value: 'a b' },
  { name: 'a non-string route', list: [{ address: 'a:1', route: 7 }], option: 'peers[0].route', value: 7 },
  { name: 'an unknown parameter', list: [{ address: 'a:1', max_fails: 2 }], option: 'peers[0].max_fails', value: 2 },
  { name: 'a duplicated address', list: ['127.0.0.1:80', 'b:1', '127.0.0.1'], option: 'peers[2].address', value: '127.0.0.1' },
  { name: 'a duplicated URL peer', list: ['app:80', 'http://APP/'], option: 'peers[1].address', value: 'http://APP/' },
  {
    name: 'a duplicated route',
    list: [
      { address: 'a:1', route: 'x' },
      { address: 'b:1', route: 'x' },
    ],
    option: 'peers[1].route',
    value: 'x',
  },
  { name: 'backups only', list: [{ address: 'a:1', backup: true }], option: 'peers', value: [{ address: 'a:1', backup: true }] },
]
for (const c of badLists) {
  Peers(`should refuse ${c.name}, naming ${c.option} and the value`, () => {
    const error = expectConfigError(() => parsePeers(c.list), c.option)
    assert.equal(error.value, c.value)
  })
}

Peers('should accept any list of distinct valid peers with at least one primary, in order', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: MAX_WEIGHT }), { minLength: 8, maxLength: 8 }),
      (ports, backups, weights) => {
        const list = ports.map((port, i) => ({ address: `127.0.0.1:${port}`, weight: weights[i], backup: i > 0 && backups[i] === true }))
        const parsed = parsePeers(list)
        assert.equal(
          parsed.map((p) => p.peer.id),
          ports.map((port) => `127.0.0.1:${port}`),
        )
        assert.equal(
          parsed.map((p) => p.peer.weight),
          list.map((p) => p.weight),
        )
        assert.equal(
          parsed.map((p) => p.index),
          list.map((_, i) => i),
        )
      },
    ),
    fcParams(),
  )
})

Peers('should throw nothing but StickyConfigError on arbitrary input', () => {
  fc.assert(
    fc.property(fc.anything(), (input) => {
      try {
        parsePeers([input, ...loopbackPeers(1)])
      } catch (error) {
        assert.instance(error, StickyConfigError)
      }
    }),
    fcParams(500),
  )
})
Peers.run()
