import { createHash } from 'node:crypto'
import fc from 'fast-check'
import type { BalancerBaseOptions, BalancerOptions, HashedCookieOptions, HmacCookieOptions } from 'sticky-core'
import * as assert from 'uvu/assert'
import { startBackend, type Backend } from './backend'
import { send, sendRaw } from './client'
import { CookieModel, peersOf, startAdapter, startBackends, type SuiteContext } from './harness'
import type { Scope } from './scope'
import { withScope } from './scope'

function hex(algorithm: 'md5' | 'sha1', data: string | Uint8Array): string {
  return createHash(algorithm).update(data).digest('hex')
}

/** The 16-byte Linux `sockaddr_in` the oldest modules hashed (SEED.md, G1/G2). */
function sockaddr(address: string): Buffer {
  const [ip = '', port = '0'] = address.split(':')
  const bytes = Buffer.alloc(16)
  bytes.writeUInt16LE(2, 0)
  bytes.writeUInt16BE(Number(port), 2)
  ip.split('.').forEach((octet, i) => bytes.writeUInt8(Number(octet), 4 + i))
  return bytes
}

/** Every value that could name the canary under some hash mode, plus the classic attacks. */
function forgedValues(canary: Backend): string[] {
  const a = canary.address
  return [
    hex('md5', a),
    hex('sha1', a),
    hex('md5', sockaddr(a)),
    hex('md5', `http://${a}`),
    a,
    `http://${a}`,
    `//${a}`,
    '2',
    '3',
    '-1',
    '1e3',
    '0x1',
    '1.0',
    ' 2',
    '99999999999999999999999999',
    '../',
    '../../etc/passwd',
    `..%2F${a}`,
    `%2e%2e%2f${encodeURIComponent(a)}`,
    'x'.repeat(8_000),
    hex('md5', a).toUpperCase(),
  ]
}

/** Cookie header shapes a value can be smuggled in. */
function cookieShapes(value: string): string[] {
  return [`route=${value}`, `route="${value}"`, `other=1; route=${value}; route=${value}`, ` route = ${value} ;`, `Route=${value}`]
}

// hash and hmac exclude each other, so the modes are either kind of balancer options without the peers.
const MODES: readonly (Omit<BalancerBaseOptions, 'peers'> & (HashedCookieOptions | HmacCookieOptions))[] = [
  { hash: 'md5' },
  { hash: 'sha1' },
  { hash: 'raw' },
  { hash: 'index' },
  { hash: 'md5', legacy: true },
  { hmac: { algorithm: 'sha256', key: 'conformance' } },
]

interface Fixture {
  readonly backends: Backend[]
  readonly canary: Backend
}

async function fixture(scope: Scope): Promise<Fixture> {
  const backends = await startBackends(scope, 2)
  const canary = await startBackend('canary')
  scope.defer(canary, () => canary.close())
  return { backends, canary }
}

/** Whatever the cookie says, only configured peers are ever contacted. */
export function forgery(ctx: SuiteContext): void {
  const { test, factory, seed } = ctx

  test('should never contact an unconfigured host, whatever the cookie says', () =>
    withScope(async (scope) => {
      const { backends, canary } = await fixture(scope)
      for (const mode of MODES) {
        const balancer: BalancerOptions = { ...mode, peers: peersOf(backends) }
        const proxy = await startAdapter(scope, factory, { balancer })
        const model = new CookieModel(balancer)
        const legit = new Set(backends.map((b) => model.valueOf(b)))
        for (const value of forgedValues(canary)) {
          for (const cookie of cookieShapes(value)) {
            const answer = await send(proxy.url, { headers: { cookie } })
            const label = `${JSON.stringify(mode)} ${cookie.slice(0, 80)}`
            model.assertPinnedToAnswerer(answer, backends, label)
            const set = model.setBy(answer)
            if (set !== undefined) assert.ok(legit.has(set), `${label}: nothing from the request is copied into the cookie`)
          }
        }
      }
      assert.is(canary.requests, 0, 'the canary was never contacted')
      assert.is(canary.connections, 0, 'the canary was never connected to')
    }))

  test('should never contact an unconfigured host for generated cookie values (property)', () =>
    withScope(async (scope) => {
      const { backends, canary } = await fixture(scope)
      const balancer: BalancerOptions = { peers: peersOf(backends) }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      const pieces = forgedValues(canary)
      // Header values may hold visible ASCII, space and tab; a client library refuses the rest.
      const headerSafe = (s: string): string => s.replace(/[^\t\x20-\x7e]/g, '')
      const value = fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.constantFrom(...pieces),
        fc.tuple(fc.constantFrom(...pieces), fc.string({ maxLength: 8 })).map(([p, s]) => p + s),
        fc.stringMatching(/^[0-9a-f:.[\]-]{0,48}$/),
      )
      await fc.assert(
        fc.asyncProperty(value, fc.boolean(), async (raw, quoted) => {
          const v = headerSafe(raw)
          const answer = await send(proxy.url, { headers: { cookie: quoted ? `route="${v}"` : `route=${v}` } })
          model.assertPinnedToAnswerer(answer, backends, JSON.stringify(v))
        }),
        { seed, numRuns: 150 },
      )
      assert.is(canary.requests, 0)
      assert.is(canary.connections, 0)
    }))

  test('should answer malformed and oversized requests without contacting an unconfigured host', () =>
    withScope(async (scope) => {
      const { backends, canary } = await fixture(scope)
      const balancer: BalancerOptions = { peers: peersOf(backends) }
      const proxy = await startAdapter(scope, factory, { balancer })
      const forged = hex('md5', canary.address)
      const requests: (string | Buffer)[] = [
        `GET / HTTP/1.1\r\nHost: a\r\nCookie: route=${'y'.repeat(64 * 1024)}\r\nConnection: close\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: a\r\nCookie: route=${forged}; ${'k=v; '.repeat(13_000)}\r\nConnection: close\r\n\r\n`,
        Buffer.concat([
          Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\nCookie: route=${forged}`),
          Buffer.from([0x80, 0xff, 0xfe]),
          Buffer.from('\r\nConnection: close\r\n\r\n'),
        ]),
        `GET / HTTP/1.1\r\nHost: a\r\nCookie: route=${forged}\r\nCookie: route=${forged}\r\nConnection: close\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: a\r\nCookie:\r\nConnection: close\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: a\r\nCookie: route\r\nConnection: close\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: a\r\nCookie: ;;;=;route=;=${forged}\r\nConnection: close\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: a\r\nCookie: route=\t${forged}\t\r\nConnection: close\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: a\r\nCookie: route=${forged}\x01\r\nConnection: close\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: a\r\nthis line has no colon\r\nConnection: close\r\n\r\n`,
        `GET / HTTP/1.0\r\nCookie: route=${canary.address}\r\n\r\n`,
        `GET http://${canary.address}/ HTTP/1.1\r\nHost: ${canary.address}\r\nCookie: route=${forged}\r\nConnection: close\r\n\r\n`,
      ]
      for (const bytes of requests) {
        const answer = await sendRaw(proxy.url, bytes)
        const label = bytes.toString().slice(0, 60)
        // Refusing is fine (a runtime may answer some of these with its own 4xx or even 5xx); what
        // matters is that no answer comes from anywhere but a configured peer.
        if (answer.status === 200)
          assert.ok(
            backends.some((b) => b.name === answer.backend),
            `${label}: a configured backend answered`,
          )
        else assert.ok(answer.status === 0 || (answer.status >= 400 && answer.status < 600), `${label}: refused (${answer.status})`)
        if (answer.backend !== undefined)
          assert.ok(
            backends.some((b) => b.name === answer.backend),
            `${label}: answered by ${answer.backend}`,
          )
      }
      const after = await send(proxy.url)
      assert.is(after.status, 200, 'the adapter still serves')
      assert.is(canary.requests, 0)
      assert.is(canary.connections, 0)
    }))
}
