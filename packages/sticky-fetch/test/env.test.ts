import fc from 'fast-check'
import { StickyConfigError, createBalancer } from 'sticky-core'
import type { PeerInput } from 'sticky-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { optionsFromEnv, parsePeerEntry } from '../src/env'
import type { StickyEnv } from '../src/env'
import type { StickyFetchOptions } from '../src/options'
import { fcParams } from './_fc'

function throwsNaming(run: () => unknown, variable: string): void {
  try {
    run()
  } catch (error) {
    assert.instance(error, StickyConfigError)
    assert.is((error as StickyConfigError).option, variable)
    assert.ok((error as Error).message.includes(variable), (error as Error).message)
    return
  }
  assert.unreachable(`expected a StickyConfigError naming ${variable}`)
}

const fromEnv = suite('optionsFromEnv')

const PEERS = { STICKY_PEERS: 'http://127.0.0.1:9001' }
const SECRET_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa='
const SECRET_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'

const accepted: ReadonlyArray<{ name: string; env: StickyEnv; expected: StickyFetchOptions }> = [
  { name: 'one peer', env: PEERS, expected: { peers: ['http://127.0.0.1:9001'] } },
  {
    name: 'a list with nginx server parameters',
    env: { STICKY_PEERS: 'https://a.example weight=2, https://b.example backup,\n10.0.0.3:80 route=c max_fails=3 fail_timeout=30s' },
    expected: {
      peers: [
        { address: 'https://a.example', weight: 2 },
        { address: 'https://b.example', backup: true },
        { address: '10.0.0.3:80', route: 'c', maxFails: 3, failTimeout: 30_000 },
      ],
    },
  },
  {
    name: 'an array from [vars]',
    env: { STICKY_PEERS: ['http://a.example down', { address: 'http://b.example', weight: 3 }] },
    expected: {
      peers: [
        { address: 'http://a.example', down: true },
        { address: 'http://b.example', weight: 3 },
      ],
    },
  },
  {
    name: 'every cookie variable',
    env: {
      ...PEERS,
      STICKY_COOKIE_NAME: 'srv',
      STICKY_COOKIE_PATH: '/app',
      STICKY_COOKIE_DOMAIN: '.example.com',
      STICKY_COOKIE_EXPIRES: '1h',
      STICKY_COOKIE_SECURE: 'true',
      STICKY_COOKIE_HTTPONLY: 'yes',
      STICKY_COOKIE_SAMESITE: 'none',
      STICKY_COOKIE_PARTITIONED: 'on',
    },
    expected: {
      peers: ['http://127.0.0.1:9001'],
      cookie: {
        name: 'srv',
        path: '/app',
        domain: '.example.com',
        expires: 3600,
        secure: true,
        httpOnly: true,
        sameSite: 'None',
        partitioned: true,
      },
    },
  },
  {
    name: 'expires max and a bare number of seconds',
    env: { ...PEERS, STICKY_COOKIE_EXPIRES: 'MAX', STICKY_COOKIE_HTTPONLY: false },
    expected: { peers: ['http://127.0.0.1:9001'], cookie: { expires: 'max', httpOnly: false } },
  },
  {
    name: 'numbers and booleans from [vars]',
    env: { ...PEERS, STICKY_COOKIE_EXPIRES: 60, STICKY_FALLBACK: false, STICKY_RETRIES: 0 },
    expected: { peers: ['http://127.0.0.1:9001'], cookie: { expires: 60 }, fallback: false, proxy: { retries: 0 } },
  },
  {
    name: 'hash, refresh and legacy',
    env: { ...PEERS, STICKY_HASH: 'SHA1', STICKY_REFRESH: 'always', STICKY_LEGACY: '1' },
    expected: { peers: ['http://127.0.0.1:9001'], hash: 'sha1', refresh: 'always', legacy: true },
  },
  {
    name: 'an HMAC key alone (sha256)',
    env: { ...PEERS, STICKY_HMAC_KEY: 's3cret' },
    expected: { peers: ['http://127.0.0.1:9001'], hmac: { algorithm: 'sha256', key: 's3cret' } },
  },
  {
    name: 'an HMAC key and algorithm',
    env: { ...PEERS, STICKY_HMAC_KEY: 's3cret', STICKY_HMAC: 'md5' },
    expected: { peers: ['http://127.0.0.1:9001'], hmac: { algorithm: 'md5', key: 's3cret' } },
  },
  {
    name: 'every proxy variable',
    env: {
      ...PEERS,
      STICKY_TIMEOUT: '1m30s',
      STICKY_RETRIES: '3',
      STICKY_X_FORWARDED: 'off',
      STICKY_KEEP_CONTENT_ENCODING: 'true',
      STICKY_TRUST_PROXY: 'loopback, 10.0.0.0/8',
      STICKY_REQUEST_ID: 'on',
    },
    expected: {
      peers: ['http://127.0.0.1:9001'],
      proxy: { timeout: 90_000, retries: 3, xForwarded: false, keepContentEncoding: true, trustProxy: 'loopback, 10.0.0.0/8', requestId: true },
    },
  },
  {
    name: 'a request id under a header name of its own',
    env: { ...PEERS, STICKY_REQUEST_ID: 'X-Correlation-Id' },
    expected: { peers: ['http://127.0.0.1:9001'], proxy: { requestId: 'X-Correlation-Id' } },
  },
  {
    // The retry buffer was removed (bodies always stream): a variable left in a deployment changes nothing.
    name: 'a leftover STICKY_RETRY_BODY_LIMIT, ignored',
    env: { ...PEERS, STICKY_RETRY_BODY_LIMIT: '64k' },
    expected: { peers: ['http://127.0.0.1:9001'] },
  },
  {
    name: 'a timeout of 0 (no limit) and a bare number of seconds',
    env: { ...PEERS, STICKY_TIMEOUT: '0', STICKY_PEERS: 'http://127.0.0.1:9001 fail_timeout=30' },
    expected: { peers: [{ address: 'http://127.0.0.1:9001', failTimeout: 30_000 }], proxy: { timeout: 0 } },
  },
  {
    name: 'token keys (comments, blank lines and CRLF ignored; a colon inside a secret kept) and lifetimes',
    env: {
      ...PEERS,
      STICKY_TOKEN_KEYS: `# newest first\r\nk2:${SECRET_A}\r\n\n  k1 : ${SECRET_B}:x  \n`,
      STICKY_TOKEN_MAX_AGE: '7d',
      STICKY_TOKEN_IDLE: '30m',
      STICKY_TOKEN_SKEW: 0,
    },
    expected: {
      peers: ['http://127.0.0.1:9001'],
      token: {
        keys: [
          { id: 'k2', secret: SECRET_A },
          { id: 'k1', secret: `${SECRET_B}:x` },
        ],
        maxAge: 604_800,
        idle: 1_800,
        skew: 0,
      },
    },
  },
  {
    name: 'token keys with STICKY_LEGACY=false',
    env: { ...PEERS, STICKY_TOKEN_KEYS: `a:${SECRET_A}`, STICKY_LEGACY: 'false' },
    expected: { peers: ['http://127.0.0.1:9001'], legacy: false, token: { keys: [{ id: 'a', secret: SECRET_A }] } },
  },
  {
    name: 'the failover rule, its strict status and the route header',
    env: { ...PEERS, STICKY_FAILOVER: 'Strict', STICKY_STRICT_STATUS: 503, STICKY_ROUTE_HEADER: 'X-Sticky-Route' },
    expected: { peers: ['http://127.0.0.1:9001'], failover: 'strict', strictStatus: 503, header: 'X-Sticky-Route' },
  },
  {
    name: 'failover temporary',
    env: { ...PEERS, STICKY_FAILOVER: 'temporary' },
    expected: { peers: ['http://127.0.0.1:9001'], failover: 'temporary' },
  },
  {
    name: 'empty variables as unset',
    env: { ...PEERS, STICKY_COOKIE_NAME: '', STICKY_HASH: '  ', STICKY_TIMEOUT: null, OTHER: 'x' },
    expected: { peers: ['http://127.0.0.1:9001'] },
  },
]
for (const { name, env, expected } of accepted) {
  fromEnv(`should read ${name}`, () => {
    assert.equal(optionsFromEnv(env), expected)
  })
}

const rejected: ReadonlyArray<{ env: StickyEnv; variable: string }> = [
  { env: {}, variable: 'STICKY_PEERS' },
  { env: { STICKY_PEERS: ' , ' }, variable: 'STICKY_PEERS' },
  { env: { STICKY_PEERS: [] }, variable: 'STICKY_PEERS' },
  { env: { STICKY_PEERS: [7] }, variable: 'STICKY_PEERS' },
  { env: { STICKY_PEERS: 42 }, variable: 'STICKY_PEERS' },
  { env: { STICKY_PEERS: 'http://a weight=x' }, variable: 'STICKY_PEERS' },
  { env: { STICKY_PEERS: 'http://a heavy' }, variable: 'STICKY_PEERS' },
  { env: { ...PEERS, STICKY_COOKIE_SECURE: 'maybe' }, variable: 'STICKY_COOKIE_SECURE' },
  { env: { ...PEERS, STICKY_COOKIE_SAMESITE: 'sometimes' }, variable: 'STICKY_COOKIE_SAMESITE' },
  { env: { ...PEERS, STICKY_COOKIE_EXPIRES: '1500ms' }, variable: 'STICKY_COOKIE_EXPIRES' },
  { env: { ...PEERS, STICKY_COOKIE_EXPIRES: 'soon' }, variable: 'STICKY_COOKIE_EXPIRES' },
  { env: { ...PEERS, STICKY_COOKIE_NAME: { a: 1 } }, variable: 'STICKY_COOKIE_NAME' },
  { env: { ...PEERS, STICKY_HASH: 'crc32' }, variable: 'STICKY_HASH' },
  { env: { ...PEERS, STICKY_HMAC: 'sha1' }, variable: 'STICKY_HMAC' },
  { env: { ...PEERS, STICKY_HMAC_KEY: 'k', STICKY_HMAC: 'sha512' }, variable: 'STICKY_HMAC' },
  { env: { ...PEERS, STICKY_REFRESH: 'sometimes' }, variable: 'STICKY_REFRESH' },
  { env: { ...PEERS, STICKY_TIMEOUT: 'forever' }, variable: 'STICKY_TIMEOUT' },
  { env: { ...PEERS, STICKY_RETRIES: '-1' }, variable: 'STICKY_RETRIES' },
  { env: { ...PEERS, STICKY_TOKEN_KEYS: '# only a comment\n\n' }, variable: 'STICKY_TOKEN_KEYS' },
  { env: { ...PEERS, STICKY_TOKEN_KEYS: SECRET_A }, variable: 'STICKY_TOKEN_KEYS' },
  { env: { ...PEERS, STICKY_TOKEN_KEYS: `too-long-id:${SECRET_A}` }, variable: 'STICKY_TOKEN_KEYS' },
  { env: { ...PEERS, STICKY_TOKEN_KEYS: `:${SECRET_A}` }, variable: 'STICKY_TOKEN_KEYS' },
  { env: { ...PEERS, STICKY_TOKEN_KEYS: `a:${SECRET_A}\na:${SECRET_B}` }, variable: 'STICKY_TOKEN_KEYS' },
  { env: { ...PEERS, STICKY_TOKEN_KEYS: 'a:short' }, variable: 'STICKY_TOKEN_KEYS' },
  { env: { ...PEERS, STICKY_TOKEN_KEYS: `a:${SECRET_A}`, STICKY_HASH: 'sha1' }, variable: 'STICKY_TOKEN_KEYS' },
  { env: { ...PEERS, STICKY_TOKEN_KEYS: `a:${SECRET_A}`, STICKY_HMAC_KEY: 'k' }, variable: 'STICKY_TOKEN_KEYS' },
  { env: { ...PEERS, STICKY_TOKEN_KEYS: `a:${SECRET_A}`, STICKY_LEGACY: 'on' }, variable: 'STICKY_TOKEN_KEYS' },
  { env: { ...PEERS, STICKY_TOKEN_KEYS: `a:${SECRET_A}`, STICKY_TOKEN_MAX_AGE: 'forever' }, variable: 'STICKY_TOKEN_MAX_AGE' },
  { env: { ...PEERS, STICKY_TOKEN_KEYS: `a:${SECRET_A}`, STICKY_TOKEN_IDLE: '1500ms' }, variable: 'STICKY_TOKEN_IDLE' },
  { env: { ...PEERS, STICKY_TOKEN_KEYS: `a:${SECRET_A}`, STICKY_TOKEN_SKEW: 'soon' }, variable: 'STICKY_TOKEN_SKEW' },
  { env: { ...PEERS, STICKY_TOKEN_IDLE: '30m' }, variable: 'STICKY_TOKEN_IDLE' },
  { env: { ...PEERS, STICKY_TOKEN_MAX_AGE: '1d' }, variable: 'STICKY_TOKEN_MAX_AGE' },
  { env: { ...PEERS, STICKY_FAILOVER: 'elsewhere' }, variable: 'STICKY_FAILOVER' },
  { env: { ...PEERS, STICKY_STRICT_STATUS: '500' }, variable: 'STICKY_STRICT_STATUS' },
  { env: { ...PEERS, STICKY_ROUTE_HEADER: ['X-Sticky-Route'] }, variable: 'STICKY_ROUTE_HEADER' },
  { env: { ...PEERS, STICKY_TRUST_PROXY: '10.0.0.1/33' }, variable: 'STICKY_TRUST_PROXY' },
  { env: { ...PEERS, STICKY_TRUST_PROXY: 'everyone' }, variable: 'STICKY_TRUST_PROXY' },
  { env: { ...PEERS, STICKY_REQUEST_ID: 'Cookie' }, variable: 'STICKY_REQUEST_ID' },
  { env: { ...PEERS, STICKY_REQUEST_ID: 'bad name' }, variable: 'STICKY_REQUEST_ID' },
]
for (const { env, variable } of rejected) {
  fromEnv(`should reject ${JSON.stringify(env)} naming ${variable}`, () => {
    throwsNaming(() => optionsFromEnv(env), variable)
  })
}

fromEnv('should never put a token secret in an error message', () => {
  const secret = 'Zm9vYmFyLXRoaXMtaXMtdGhlLXNlY3JldC1vZi10aGUta2V5'
  const bad = [`${secret}`, `too-long-id:${secret}`, `a:${secret}\na:${secret}`, `${secret}:a`, `a:${secret.slice(0, 20)}`]
  for (const keys of bad) {
    const others = [{}, { STICKY_HASH: 'md5' }]
    for (const other of others) {
      try {
        optionsFromEnv({ ...PEERS, ...other, STICKY_TOKEN_KEYS: keys })
      } catch (error) {
        assert.instance(error, StickyConfigError)
        const message = (error as Error).message
        assert.not.ok(message.includes(secret.slice(0, 20)), message)
        assert.not.ok(JSON.stringify((error as StickyConfigError).value).includes(secret.slice(0, 20)))
        continue
      }
      assert.unreachable(`expected ${JSON.stringify(keys)} to be refused`)
    }
  }
})

fromEnv('should give options that a balancer accepts, issuing tokens signed by the first key', () => {
  const options = optionsFromEnv({
    STICKY_PEERS: 'http://127.0.0.1:9001, http://127.0.0.1:9002',
    STICKY_TOKEN_KEYS: `new:${SECRET_A}\nold:${SECRET_B}`,
    STICKY_TOKEN_IDLE: '1h',
    STICKY_FAILOVER: 'persist',
    STICKY_ROUTE_HEADER: 'X-Sticky-Route',
  })
  const balancer = createBalancer(options)
  const decision = balancer.decide(undefined)
  assert.match(decision.setCookie ?? '', /^route=1\.new\./)
})

const peerSpec = fc.record(
  {
    address: fc.constantFrom('http://a.example', 'https://b.example:8443', '10.0.0.1:8080', '[::1]:80'),
    weight: fc.nat(100),
    maxFails: fc.nat(10),
    failTimeout: fc.nat(3600).map((s) => s * 1000),
    route: fc.stringMatching(/^[a-z0-9]{1,8}$/),
    backup: fc.constant(true),
    down: fc.constant(true),
    drain: fc.constant(true),
  },
  { requiredKeys: ['address'] },
)

function render(spec: Exclude<PeerInput, string>): string {
  const params: string[] = [spec.address]
  if (spec.weight !== undefined) params.push(`weight=${spec.weight}`)
  if (spec.maxFails !== undefined) params.push(`max_fails=${spec.maxFails}`)
  if (spec.failTimeout !== undefined) params.push(`fail_timeout=${Number(spec.failTimeout) / 1000}s`)
  if (spec.route !== undefined) params.push(`route=${spec.route}`)
  if (spec.backup === true) params.push('backup')
  if (spec.down === true) params.push('down')
  if (spec.drain === true) params.push('drain')
  return params.join(' ')
}

fromEnv('should read back any rendered list of peers', () => {
  fc.assert(
    fc.property(fc.array(peerSpec, { minLength: 1, maxLength: 5 }), fc.constantFrom(',', ', ', '\n', ' ,\n'), (specs, separator) => {
      const options = optionsFromEnv({ STICKY_PEERS: specs.map(render).join(separator) })
      const expected = specs.map((spec) => (Object.keys(spec).length === 1 ? spec.address : { ...spec }))
      assert.equal(options.peers, expected)
    }),
    fcParams(),
  )
})

fromEnv('should either read an env or throw a StickyConfigError, never anything else', () => {
  const value = fc.oneof(fc.string(), fc.boolean(), fc.integer(), fc.constant(undefined), fc.constant(null))
  const env = fc.record({
    STICKY_PEERS: fc.oneof(fc.string(), fc.array(fc.string())),
    STICKY_COOKIE_EXPIRES: value,
    STICKY_COOKIE_SAMESITE: value,
    STICKY_HASH: value,
    STICKY_HMAC: value,
    STICKY_HMAC_KEY: value,
    STICKY_TIMEOUT: value,
    STICKY_RETRIES: value,
    STICKY_FALLBACK: value,
    STICKY_TOKEN_KEYS: fc.oneof(value, fc.constant(`a:${SECRET_A}`)),
    STICKY_TOKEN_IDLE: value,
    STICKY_FAILOVER: value,
    STICKY_STRICT_STATUS: value,
  })
  fc.assert(
    fc.property(env, (e) => {
      try {
        optionsFromEnv(e)
      } catch (error) {
        return error instanceof StickyConfigError && error.option.startsWith('STICKY_')
      }
      return true
    }),
    fcParams(),
  )
})
fromEnv('should read STICKY_REQUEST_ID switches in any case, not as header names', () => {
  assert.equal(optionsFromEnv({ ...PEERS, STICKY_REQUEST_ID: 'TRUE' }).proxy, { requestId: true })
  assert.equal(optionsFromEnv({ ...PEERS, STICKY_REQUEST_ID: 'Off' }).proxy, { requestId: false })
})

fromEnv.run()

const entry = suite('parsePeerEntry')

const entries: ReadonlyArray<[string, PeerInput]> = [
  ['10.0.0.1:8080', '10.0.0.1:8080'],
  ['  http://a.example  ', 'http://a.example'],
  ['http://a.example weight=0', { address: 'http://a.example', weight: 0 }],
  ['unix:/tmp/app.sock drain', { address: 'unix:/tmp/app.sock', drain: true }],
  ['http://a.example fail_timeout=10 max_fails=0', { address: 'http://a.example', failTimeout: 10_000, maxFails: 0 }],
]
for (const [text, expected] of entries) {
  entry(`should read ${JSON.stringify(text)}`, () => {
    assert.equal(parsePeerEntry(text), expected)
  })
}

for (const text of ['', 'weight=2', 'http://a route=', 'http://a fail_timeout=soon', 'http://a max_fails=1.5', 'http://a backup=1']) {
  entry(`should reject ${JSON.stringify(text)} naming STICKY_PEERS`, () => {
    throwsNaming(() => parsePeerEntry(text), 'STICKY_PEERS')
  })
}
entry.run()
