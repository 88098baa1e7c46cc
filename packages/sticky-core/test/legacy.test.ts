import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { parseAddress } from '../src/address'
import { createBalancer, type BalancerBaseOptions, type HashedCookieOptions, type HmacCookieOptions } from '../src/balancer'
import { linuxSockaddr } from '../src/legacy'
import { fcParams } from './_fc'
import { nodeDigest, nodeHmac } from './_balancer'

const endpointOf = (address: string) => {
  const ip = parseAddress(address, 'a').ip
  assert.ok(ip, address)
  return ip
}
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

// ---------------------------------------------------------------- linuxSockaddr
const Sockaddr = suite('linuxSockaddr')

const layouts: ReadonlyArray<[string, string]> = [
  // family 2 LE, port BE, address, 8 zero bytes
  ['127.0.0.1:9001', '02002329' + '7f000001' + '0000000000000000'],
  ['10.0.0.2:80', '02000050' + '0a000002' + '0000000000000000'],
  // family 10 LE, port BE, 4 zero bytes of flow info, 16 address bytes, 4 zero bytes of scope id
  ['[::1]:9001', '0a002329' + '00000000' + '00000000000000000000000000000001' + '00000000'],
  ['[2001:db8::7]:443', '0a0001bb' + '00000000' + '20010db8000000000000000000000007' + '00000000'],
]
for (const [address, bytes] of layouts) {
  Sockaddr(`should lay out ${address} as Linux does`, () => {
    assert.is(hex(linuxSockaddr(endpointOf(address))), bytes)
  })
}

Sockaddr('should be 16 bytes for IPv4 and 28 for IPv6, with the port big-endian at offset 2', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.integer({ min: 1, max: 65535 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (v4, port, raw) => {
      const endpoint = v4 ? { family: 4 as const, bytes: raw.slice(0, 4), port } : { family: 6 as const, bytes: raw, port }
      const bytes = linuxSockaddr(endpoint)
      assert.is(bytes.length, v4 ? 16 : 28)
      assert.is(bytes[0], v4 ? 2 : 10)
      assert.is(bytes[1], 0)
      assert.is((bytes[2]! << 8) | bytes[3]!, port)
      assert.equal(bytes.slice(v4 ? 4 : 8, v4 ? 8 : 24), endpoint.bytes)
      assert.ok(bytes.slice(v4 ? 8 : 24).every((b) => b === 0))
      if (!v4) assert.ok(bytes.slice(4, 8).every((b) => b === 0))
    }),
    fcParams(),
  )
})
Sockaddr.run()

// ---------------------------------------------------------------- legacy cookie values (createBalancer)
const Legacy = suite('createBalancer legacy')

const sockaddr9001 = Buffer.from('020023297f0000010000000000000000', 'hex')

Legacy('should accept the first-generation md5 of 127.0.0.1:9001 and re-pin it to the modern value', () => {
  const balancer = createBalancer({ peers: ['127.0.0.1:9001', '127.0.0.1:9002'], legacy: true })
  assert.is(nodeDigest('md5', sockaddr9001), '2b46daf0ba503cbe30c3b46dfad73e0a')
  const d = balancer.decide('route=2b46daf0ba503cbe30c3b46dfad73e0a')
  assert.is(d.outcome, 'hit')
  assert.is(d.peer, balancer.peers[0])
  assert.is(d.setCookie, 'route=422db4e6da7b4bba46bd476612df0469; Path=/')
})

const modes: ReadonlyArray<{ name: string; options: BalancerBaseOptions & (HashedCookieOptions | HmacCookieOptions); legacy: (bytes: Uint8Array) => string }> =
  [
    { name: 'sha1', options: { peers: [], hash: 'sha1' }, legacy: (b) => nodeDigest('sha1', b) },
    { name: 'hmac md5', options: { peers: [], hmac: { algorithm: 'md5', key: 'secret' } }, legacy: (b) => nodeHmac('md5', 'secret', b) },
    { name: 'hmac sha1', options: { peers: [], hmac: { algorithm: 'sha1', key: 'secret' } }, legacy: (b) => nodeHmac('sha1', 'secret', b) },
  ]
for (const mode of modes) {
  Legacy(`should accept the ${mode.name} digest of the sockaddr, for IPv4 and IPv6`, () => {
    const peers = ['127.0.0.1:9001', '[2001:db8::7]:443', 'app.internal:80']
    const balancer = createBalancer({ ...mode.options, peers, legacy: true })
    for (const address of peers.slice(0, 2)) {
      const value = mode.legacy(linuxSockaddr(endpointOf(address)))
      const d = balancer.decide(`route=${value}`)
      const peer = balancer.peers.find((p) => p.id === address)!
      assert.is(d.outcome, 'hit', address)
      assert.is(d.peer, peer)
      assert.is(d.setCookie, `route=${balancer.cookieValue(peer)}; Path=/`)
    }
  })
}

Legacy('should accept the IPv6 md5 digest over the 28-byte sockaddr_in6', () => {
  const balancer = createBalancer({ peers: ['[::1]:9001', '127.0.0.1:1'], legacy: true })
  const sockaddr = Buffer.from('0a002329' + '00000000' + '00000000000000000000000000000001' + '00000000', 'hex')
  const d = balancer.decide(`route=${nodeDigest('md5', sockaddr)}`)
  assert.is(d.peer?.id, '[::1]:9001')
  assert.is(d.setCookie, `route=${nodeDigest('md5', '[::1]:9001')}; Path=/`)
})

Legacy('should not accept legacy digests unless asked to', () => {
  const balancer = createBalancer({ peers: ['127.0.0.1:9001', '127.0.0.1:9002'] })
  const d = balancer.decide('route=2b46daf0ba503cbe30c3b46dfad73e0a')
  assert.is(d.outcome, 'invalid')
})

Legacy('should re-pin a legacy client to another peer when its peer is down', () => {
  const balancer = createBalancer({ peers: [{ address: '127.0.0.1:9001', down: true }, '127.0.0.1:9002'], legacy: true })
  const d = balancer.decide('route=2b46daf0ba503cbe30c3b46dfad73e0a')
  assert.is(d.outcome, 'repinned')
  assert.is(d.peer?.id, '127.0.0.1:9002')
  assert.is(d.setCookie, `route=${nodeDigest('md5', '127.0.0.1:9002')}; Path=/`)
})

Legacy('should give host-name peers no legacy value, since nginx hashed the address it resolved', () => {
  const balancer = createBalancer({ peers: ['localhost:9001', '127.0.0.1:9002'], legacy: true })
  const d = balancer.decide('route=2b46daf0ba503cbe30c3b46dfad73e0a')
  assert.is(d.outcome, 'invalid')
})
Legacy.run()
