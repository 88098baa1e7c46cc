import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createBalancer, type BalancerOptions } from '../src/balancer'
import { StickyConfigError } from '../src/errors'
import { fcParams } from './_fc'
import { expectConfigError, loopbackPeers, nodeHmac } from './_balancer'

const peers = loopbackPeers(2)

interface BadOptions {
  readonly name: string
  readonly options: unknown
  readonly option: string
  readonly value: unknown
}
const secure = { secure: true }
const badOptions: readonly BadOptions[] = [
  { name: 'options that are not an object', options: null, option: 'options', value: null },
  { name: 'an empty peer list', options: { peers: [] }, option: 'peers', value: [] },
  { name: 'a missing peer list', options: {}, option: 'peers', value: undefined },
  { name: 'a bad address', options: { peers: ['127.0.0.1:9001', 'nope nope'] }, option: 'peers[1].address', value: 'nope nope' },
  { name: 'a negative weight', options: { peers: [{ address: 'a:1', weight: -2 }] }, option: 'peers[0].weight', value: -2 },
  { name: 'an unknown hash mode', options: { peers, hash: 'crc32' }, option: 'hash', value: 'crc32' },
  { name: 'hash and hmac together', options: { peers, hash: 'sha1', hmac: { algorithm: 'sha1', key: 'k' } }, option: 'hash', value: 'sha1' },
  { name: 'hmac with hash index', options: { peers, hash: 'index', hmac: { algorithm: 'md5', key: 'k' } }, option: 'hash', value: 'index' },
  { name: 'an hmac that is not an object', options: { peers, hmac: 'md5' }, option: 'hmac', value: 'md5' },
  { name: 'an unknown hmac algorithm', options: { peers, hmac: { algorithm: 'sha512', key: 'k' } }, option: 'hmac.algorithm', value: 'sha512' },
  { name: 'hmac without key', options: { peers, hmac: { algorithm: 'md5' } }, option: 'hmac.key', value: undefined },
  { name: 'hmac with an empty key', options: { peers, hmac: { algorithm: 'md5', key: '' } }, option: 'hmac.key', value: '' },
  { name: 'hmac with an empty byte key', options: { peers, hmac: { algorithm: 'md5', key: new Uint8Array(0) } }, option: 'hmac.key', value: new Uint8Array(0) },
  { name: 'hmac with a numeric key', options: { peers, hmac: { algorithm: 'md5', key: 42 } }, option: 'hmac.key', value: 42 },
  { name: 'an unknown hmac option', options: { peers, hmac: { algorithm: 'md5', key: 'k', salt: 's' } }, option: 'hmac.salt', value: 's' },
  { name: 'expires 0', options: { peers, cookie: { expires: 0 } }, option: 'cookie.expires', value: 0 },
  { name: 'a negative expires', options: { peers, cookie: { expires: -1 } }, option: 'cookie.expires', value: -1 },
  { name: 'a fractional expires', options: { peers, cookie: { expires: 1.5 } }, option: 'cookie.expires', value: 1.5 },
  { name: 'a unit-less string expires', options: { peers, cookie: { expires: '3600' } }, option: 'cookie.expires', value: '3600' },
  { name: 'an expires that is not a duration', options: { peers, cookie: { expires: '1 hour' } }, option: 'cookie.expires', value: '1 hour' },
  { name: 'an expires in fractions of a second', options: { peers, cookie: { expires: '1s500ms' } }, option: 'cookie.expires', value: '1s500ms' },
  { name: 'an expires text of 0s', options: { peers, cookie: { expires: '0s' } }, option: 'cookie.expires', value: '0s' },
  { name: 'an expires text beyond 400 days', options: { peers, cookie: { expires: '401d' } }, option: 'cookie.expires', value: '401d' },
  { name: 'an unknown top-level option', options: { peers, cookei: { name: 'x' } }, option: 'cookei', value: { name: 'x' } },
  { name: 'an adapter option given to the balancer', options: { peers, proxy: { retries: 1 } }, option: 'proxy', value: { retries: 1 } },
  { name: 'an unknown cookie option', options: { peers, cookie: { expire: 60 } }, option: 'cookie.expire', value: 60 },
  { name: 'an unknown hmac option', options: { peers, hmac: { algorithm: 'md5', key: 'k', salt: 's' } }, option: 'hmac.salt', value: 's' },
  { name: 'an unknown peer parameter', options: { peers: [{ address: 'a:1', wieght: 2 }] }, option: 'peers[0].wieght', value: 2 },
  { name: 'a unit-less string failTimeout', options: { peers: [{ address: 'a:1', failTimeout: '10' }] }, option: 'peers[0].failTimeout', value: '10' },
  { name: 'a failTimeout text of 0s', options: { peers: [{ address: 'a:1', failTimeout: '0s' }] }, option: 'peers[0].failTimeout', value: '0s' },
  { name: 'an expires beyond 400 days', options: { peers, cookie: { expires: 400 * 86_400 + 1 } }, option: 'cookie.expires', value: 400 * 86_400 + 1 },
  { name: 'an unknown refresh', options: { peers, refresh: 'sometimes' }, option: 'refresh', value: 'sometimes' },
  { name: 'a non-boolean fallback', options: { peers, fallback: 'no' }, option: 'fallback', value: 'no' },
  { name: 'a non-boolean legacy', options: { peers, legacy: 1 }, option: 'legacy', value: 1 },
  { name: 'legacy with hash index', options: { peers, hash: 'index', legacy: true }, option: 'legacy', value: true },
  { name: 'legacy with hash raw', options: { peers, hash: 'raw', legacy: true }, option: 'legacy', value: true },
  { name: 'a clock that is not a function', options: { peers, now: 12 }, option: 'now', value: 12 },
  { name: 'a cookie that is not an object', options: { peers, cookie: 'route' }, option: 'cookie', value: 'route' },
  { name: 'an unknown cookie option', options: { peers, cookie: { maxAge: 5 } }, option: 'cookie.maxAge', value: 5 },
  { name: 'an empty cookie name', options: { peers, cookie: { name: '' } }, option: 'cookie.name', value: '' },
  { name: 'a cookie name with a space', options: { peers, cookie: { name: 'my route' } }, option: 'cookie.name', value: 'my route' },
  { name: 'a cookie name with =', options: { peers, cookie: { name: 'a=b' } }, option: 'cookie.name', value: 'a=b' },
  { name: 'a path without /', options: { peers, cookie: { path: 'app' } }, option: 'cookie.path', value: 'app' },
  { name: 'a path with ;', options: { peers, cookie: { path: '/a;b' } }, option: 'cookie.path', value: '/a;b' },
  { name: 'a bad domain', options: { peers, cookie: { domain: 'exa mple.com' } }, option: 'cookie.domain', value: 'exa mple.com' },
  { name: 'a non-boolean secure', options: { peers, cookie: { secure: 'yes' } }, option: 'cookie.secure', value: 'yes' },
  { name: 'a non-boolean httpOnly', options: { peers, cookie: { httpOnly: 1 } }, option: 'cookie.httpOnly', value: 1 },
  { name: 'an unknown sameSite', options: { peers, cookie: { sameSite: 'lax' } }, option: 'cookie.sameSite', value: 'lax' },
  { name: 'SameSite=None without secure', options: { peers, cookie: { sameSite: 'None' } }, option: 'cookie.sameSite', value: 'None' },
  { name: 'partitioned without secure', options: { peers, cookie: { partitioned: true } }, option: 'cookie.partitioned', value: true },
  { name: 'a __Secure- name without secure', options: { peers, cookie: { name: '__Secure-route' } }, option: 'cookie.secure', value: undefined },
  { name: 'a __Host- name without secure', options: { peers, cookie: { name: '__Host-route' } }, option: 'cookie.secure', value: undefined },
  {
    name: 'a __Host- name with a domain',
    options: { peers, cookie: { name: '__Host-route', domain: 'example.com', ...secure } },
    option: 'cookie.domain',
    value: 'example.com',
  },
  { name: 'a __Host- name with a path', options: { peers, cookie: { name: '__Host-route', path: '/app', ...secure } }, option: 'cookie.path', value: '/app' },
  {
    name: 'a raw route key that is no cookie value',
    options: { peers: ['[::1]:80', 'unix:/a,b'], hash: 'raw' },
    option: 'peers[1].address',
    value: 'unix:/a,b',
  },
  {
    name: "a route equal to another peer's index",
    options: { peers: ['127.0.0.1:1', { address: '127.0.0.1:2', route: '0' }], hash: 'index' },
    option: 'peers[1].route',
    value: '0',
  },
  {
    name: "a route equal to another peer's digest",
    options: { peers: ['127.0.0.1:9001', { address: '127.0.0.1:2', route: '422db4e6da7b4bba46bd476612df0469' }] },
    option: 'peers[1].route',
    value: '422db4e6da7b4bba46bd476612df0469',
  },
  {
    name: "a route equal to another peer's legacy digest",
    options: { peers: [{ address: '127.0.0.1:2', route: '2b46daf0ba503cbe30c3b46dfad73e0a' }, '127.0.0.1:9001'], legacy: true },
    option: 'peers[1].address',
    value: '127.0.0.1:9001',
  },
]

const Options = suite('createBalancer options')

for (const c of badOptions) {
  Options(`should refuse ${c.name}, naming ${c.option} and the value`, () => {
    const error = expectConfigError(() => createBalancer(c.options as BalancerOptions), c.option)
    assert.equal(error.value, c.value)
    assert.instance(error, TypeError)
  })
}

const goodOptions: ReadonlyArray<{ name: string; options: BalancerOptions }> = [
  { name: 'the defaults', options: { peers } },
  {
    name: 'every cookie attribute',
    options: { peers, cookie: { name: '__Host-r', path: '/', expires: 'max', secure: true, httpOnly: true, sameSite: 'None', partitioned: true } },
  },
  { name: 'a domain with a leading dot', options: { peers, cookie: { domain: '.example.com' } } },
  {
    name: 'explicit undefined options',
    options: { peers, cookie: undefined, hash: undefined, hmac: undefined, fallback: undefined, refresh: undefined, legacy: undefined, now: undefined },
  },
  { name: 'hmac with a byte key and sha256', options: { peers, hmac: { algorithm: 'sha256', key: new Uint8Array([1, 2, 3]) } } },
  { name: 'legacy with hmac', options: { peers, hmac: { algorithm: 'md5', key: 'k' }, legacy: true } },
  { name: 'raw with IPv4, host and socket peers', options: { peers: ['127.0.0.1:1', 'app:2', 'unix:/run/a.sock'], hash: 'raw' } },
  { name: 'an expires with units', options: { peers, cookie: { expires: '1h30m' } } },
  { name: 'a failTimeout with units', options: { peers: [{ address: '127.0.0.1:1', failTimeout: '30s' }] } },
]
for (const c of goodOptions) {
  Options(`should accept ${c.name}`, () => {
    const balancer = createBalancer(c.options)
    assert.ok(balancer.peers.length > 0)
  })
}

Options("should read duration text in the option's unit: seconds for expires, milliseconds for failTimeout", () => {
  const cases: ReadonlyArray<readonly [string, number]> = [
    ['1s', 1],
    ['90s', 90],
    ['1m30s', 90],
    ['2h', 7200],
    ['1d', 86_400],
    ['400d', 400 * 86_400],
  ]
  for (const [text, seconds] of cases) {
    const now = (): number => 0
    const byText = createBalancer({ peers, now, cookie: { expires: text as `${number}s` } }).decide(undefined).setCookie
    const byNumber = createBalancer({ peers, now, cookie: { expires: seconds } }).decide(undefined).setCookie
    assert.is(byText, byNumber, text)
    assert.ok(byText?.includes(`Max-Age=${seconds}`), text)
    const peer = createBalancer({ peers: [{ address: '127.0.0.1:1', failTimeout: text as `${number}s` }] }).peers[0]!
    assert.is(peer.failTimeout, seconds * 1000, text)
  }
  assert.is(createBalancer({ peers: [{ address: '127.0.0.1:1', failTimeout: '1500ms' }] }).peers[0]!.failTimeout, 1500)
})

Options('should name any unknown key at any level of the options, with its value (property)', () => {
  const known = new Set([
    'peers',
    'cookie',
    'hash',
    'hmac',
    'token',
    'failover',
    'strictStatus',
    'header',
    'fallback',
    'refresh',
    'legacy',
    'now',
    'name',
    'path',
    'domain',
    'expires',
    'secure',
    'httpOnly',
    'sameSite',
    'partitioned',
    'algorithm',
    'key',
    'address',
    'weight',
    'maxFails',
    'failTimeout',
    'route',
    'backup',
    'down',
    'drain',
    '__proto__',
    'constructor',
  ])
  const unknownKey = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !known.has(k))
  const level = fc.constantFrom('top', 'cookie', 'hmac', 'peer')
  fc.assert(
    fc.property(unknownKey, fc.integer(), level, (key, value, where) => {
      const extra = { [key]: value }
      const options =
        where === 'top'
          ? { peers, ...extra }
          : where === 'cookie'
            ? { peers, cookie: { path: '/', ...extra } }
            : where === 'hmac'
              ? { peers, hmac: { algorithm: 'md5', key: 'k', ...extra } }
              : { peers: [{ address: '127.0.0.1:1', ...extra }] }
      const option = where === 'top' ? key : where === 'peer' ? `peers[0].${key}` : `${where}.${key}`
      const error = expectConfigError(() => createBalancer(options as BalancerOptions), option)
      assert.is(error.value, value)
    }),
    fcParams(),
  )
})

Options('should not keep a reference to a mutable hmac key', () => {
  const key = new Uint8Array([1, 2, 3])
  const balancer = createBalancer({ peers, hmac: { algorithm: 'sha1', key } })
  const before = balancer.cookieValue(balancer.peers[0]!)
  key[0] = 9
  balancer.setPeers(peers)
  assert.is(balancer.cookieValue(balancer.peers[0]!), before)
})

Options('should accept an hmac key made in another realm', () => {
  const key = runInNewContext('new Uint8Array([7, 8, 9])') as Uint8Array
  assert.not.ok(key instanceof Uint8Array)
  const balancer = createBalancer({ peers, hmac: { algorithm: 'md5', key } })
  assert.is(balancer.cookieValue(balancer.peers[0]!), nodeHmac('md5', new Uint8Array([7, 8, 9]), '127.0.0.1:9001'))
})

Options('should throw nothing but StickyConfigError for arbitrary option values', () => {
  const keys = ['hash', 'hmac', 'token', 'failover', 'strictStatus', 'header', 'fallback', 'refresh', 'legacy', 'now', 'cookie'] as const
  fc.assert(
    fc.property(fc.constantFrom(...keys), fc.anything(), (key, value) => {
      try {
        createBalancer({ peers, [key]: value } as unknown as BalancerOptions)
      } catch (error) {
        assert.instance(error, StickyConfigError)
        assert.ok((error as StickyConfigError).option.startsWith(key), (error as StickyConfigError).option)
      }
    }),
    fcParams(500),
  )
})
Options.run()
