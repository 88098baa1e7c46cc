import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { attemptBudget } from '../src/attempt'
import { formatDuration } from '../src/duration'
import { StickyConfigError } from '../src/errors'
import { DEFAULT_PROXY_TIMEOUT, MAX_PROXY_TIMEOUT, resolveSharedProxyOptions, SHARED_PROXY_KEYS } from '../src/proxy-options'
import { expectConfigError } from './_balancer'
import { fcParams } from './_fc'

const Shared = suite('resolveSharedProxyOptions')

const ALL = { for: true, proto: true, host: true, forwarded: false }

/** The resolved options with the trust list replaced by its answers for a few addresses, for deep equality. */
function plain(resolved: ReturnType<typeof resolveSharedProxyOptions>): object {
  const probe = ['127.0.0.1', '10.0.0.1', '::1']
  return { ...resolved, trustProxy: probe.filter((address) => resolved.trustProxy.trusts(address)) }
}

Shared('should apply the one set of defaults: 60 s, every other peer once, every X-Forwarded-* field, nobody trusted, no request id', () => {
  for (const given of [undefined, {}, { timeout: undefined, retries: undefined, xForwarded: undefined, trustProxy: undefined, requestId: undefined }]) {
    const resolved = resolveSharedProxyOptions(given)
    assert.equal(plain(resolved), { timeout: 60_000, retries: undefined, xForwarded: ALL, trustProxy: [], requestId: undefined })
  }
  assert.is(DEFAULT_PROXY_TIMEOUT, 60_000)
  // `undefined` retries is attemptBudget's default: every configured peer once.
  assert.is(attemptBudget(resolveSharedProxyOptions(undefined).retries, 4), 4)
})

const good: ReadonlyArray<{ name: string; given: object; expected: object }> = [
  { name: 'a timeout in milliseconds', given: { timeout: 1500 }, expected: { timeout: 1500 } },
  { name: 'a timeout with units', given: { timeout: '1m30s' }, expected: { timeout: 90_000 } },
  { name: 'a timeout in ms text', given: { timeout: '250ms' }, expected: { timeout: 250 } },
  { name: 'no timeout limit', given: { timeout: 0 }, expected: { timeout: 0 } },
  { name: 'no timeout limit as text', given: { timeout: '0s' }, expected: { timeout: 0 } },
  { name: 'the longest timeout', given: { timeout: MAX_PROXY_TIMEOUT }, expected: { timeout: MAX_PROXY_TIMEOUT } },
  { name: 'no retries', given: { retries: 0 }, expected: { retries: 0 } },
  { name: 'two retries', given: { retries: 2 }, expected: { retries: 2 } },
  { name: 'no X-Forwarded-* field', given: { xForwarded: false }, expected: { xForwarded: { for: false, proto: false, host: false, forwarded: false } } },
  {
    name: 'some X-Forwarded-* fields',
    given: { xForwarded: { host: false } },
    expected: { xForwarded: { for: true, proto: true, host: false, forwarded: false } },
  },
  {
    name: 'every field named',
    given: { xForwarded: { for: false, proto: true, host: true, forwarded: true } },
    expected: { xForwarded: { for: false, proto: true, host: true, forwarded: true } },
  },
  { name: 'RFC 7239 Forwarded beside the others', given: { xForwarded: { forwarded: true } }, expected: { xForwarded: { ...ALL, forwarded: true } } },
  { name: 'a trusted loopback', given: { trustProxy: 'loopback' }, expected: { trustProxy: ['127.0.0.1', '::1'] } },
  { name: 'a trusted list', given: { trustProxy: ['10.0.0.0/8', '::1'] }, expected: { trustProxy: ['10.0.0.1', '::1'] } },
  { name: 'an empty trust list', given: { trustProxy: [] }, expected: { trustProxy: [] } },
  { name: 'request ids', given: { requestId: true }, expected: { requestId: 'X-Request-Id' } },
  { name: 'request ids off', given: { requestId: false }, expected: { requestId: undefined } },
  { name: 'request ids in another header', given: { requestId: 'X-Correlation-ID' }, expected: { requestId: 'X-Correlation-ID' } },
]
for (const c of good) {
  Shared(`should accept ${c.name}`, () => {
    assert.equal(plain(resolveSharedProxyOptions(c.given)), { ...plain(resolveSharedProxyOptions(undefined)), ...c.expected })
  })
}

const bad: ReadonlyArray<{ name: string; given: unknown; option: string; value: unknown; own?: readonly string[] }> = [
  { name: 'a proxy that is not an object', given: true, option: 'proxy', value: true },
  { name: 'a proxy array', given: [], option: 'proxy', value: [] },
  { name: 'a null proxy', given: null, option: 'proxy', value: null },
  { name: 'an unknown key', given: { bogus: 1 }, option: 'proxy.bogus', value: 1 },
  { name: 'a misspelt key', given: { timout: 5 }, option: 'proxy.timout', value: 5 },
  { name: "another adapter's key", given: { agent: () => undefined }, option: 'proxy.agent', value: undefined, own: ['fetch'] },
  { name: 'a negative timeout', given: { timeout: -1 }, option: 'proxy.timeout', value: -1 },
  { name: 'a fractional timeout', given: { timeout: 1.5 }, option: 'proxy.timeout', value: 1.5 },
  { name: 'an infinite timeout', given: { timeout: Infinity }, option: 'proxy.timeout', value: Infinity },
  { name: 'a timeout past the longest timer', given: { timeout: MAX_PROXY_TIMEOUT + 1 }, option: 'proxy.timeout', value: MAX_PROXY_TIMEOUT + 1 },
  { name: 'a timeout text past the longest timer', given: { timeout: '25d' }, option: 'proxy.timeout', value: '25d' },
  { name: 'a unit-less timeout text', given: { timeout: '30' }, option: 'proxy.timeout', value: '30' },
  { name: 'a timeout that is no duration', given: { timeout: '30 seconds' }, option: 'proxy.timeout', value: '30 seconds' },
  { name: 'negative retries', given: { retries: -1 }, option: 'proxy.retries', value: -1 },
  { name: 'fractional retries', given: { retries: 0.5 }, option: 'proxy.retries', value: 0.5 },
  { name: 'retries as text', given: { retries: '2' }, option: 'proxy.retries', value: '2' },
  { name: 'xForwarded as text', given: { xForwarded: 'yes' }, option: 'proxy.xForwarded', value: 'yes' },
  { name: 'an unknown X-Forwarded field', given: { xForwarded: { port: true } }, option: 'proxy.xForwarded.port', value: true },
  { name: 'a non-boolean X-Forwarded field', given: { xForwarded: { for: 1 } }, option: 'proxy.xForwarded.for', value: 1 },
  { name: 'a non-boolean Forwarded switch', given: { xForwarded: { forwarded: 'yes' } }, option: 'proxy.xForwarded.forwarded', value: 'yes' },
  { name: 'a trust list that is no list', given: { trustProxy: true }, option: 'proxy.trustProxy', value: true },
  { name: 'a trusted name that is no network', given: { trustProxy: 'everyone' }, option: 'proxy.trustProxy', value: 'everyone' },
  { name: 'a trusted element that is no text', given: { trustProxy: ['loopback', 1] }, option: 'proxy.trustProxy[1]', value: 1 },
  { name: 'a request id header that is no token', given: { requestId: 'X Request' }, option: 'proxy.requestId', value: 'X Request' },
  { name: 'an empty request id header', given: { requestId: '' }, option: 'proxy.requestId', value: '' },
  { name: 'a request id in Host', given: { requestId: 'Host' }, option: 'proxy.requestId', value: 'Host' },
  { name: 'a request id in a hop-by-hop field', given: { requestId: 'Connection' }, option: 'proxy.requestId', value: 'Connection' },
  { name: 'a request id in Cookie', given: { requestId: 'cookie' }, option: 'proxy.requestId', value: 'cookie' },
  { name: 'a request id as a number', given: { requestId: 1 }, option: 'proxy.requestId', value: 1 },
]
for (const c of bad) {
  Shared(`should refuse ${c.name}, naming ${c.option} and the value`, () => {
    const error = expectConfigError(() => resolveSharedProxyOptions(c.given, c.own), c.option)
    if (typeof c.value !== 'function' && c.value !== undefined) assert.equal(error.value, c.value)
  })
}

Shared("should leave the adapter's own keys to the adapter", () => {
  const agent = (): undefined => undefined
  assert.equal(plain(resolveSharedProxyOptions({ agent, retries: 1 }, ['agent'])), {
    timeout: 60_000,
    retries: 1,
    xForwarded: ALL,
    trustProxy: [],
    requestId: undefined,
  })
  expectConfigError(() => resolveSharedProxyOptions({ agent }, ['fetch'], 'options.proxy'), 'options.proxy.agent')
})

Shared('should read any timeout text as the milliseconds it spells (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: MAX_PROXY_TIMEOUT }), (ms) => {
      const text = formatDuration(ms) as `${number}ms`
      assert.is(resolveSharedProxyOptions({ timeout: text }).timeout, ms)
      assert.is(resolveSharedProxyOptions({ timeout: ms }).timeout, ms)
    }),
    fcParams(),
  )
})

Shared("should refuse every key that is neither shared nor the adapter's, and accept the others (property)", () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 10 }), fc.array(fc.string({ minLength: 1, maxLength: 10 }), { maxLength: 3 }), (key, own) => {
      const known = (SHARED_PROXY_KEYS as readonly string[]).includes(key) || own.includes(key)
      let thrown: unknown
      try {
        resolveSharedProxyOptions({ [key]: undefined }, own)
      } catch (error) {
        thrown = error
      }
      if (known) assert.is(thrown, undefined)
      else {
        assert.instance(thrown, StickyConfigError)
        assert.is((thrown as StickyConfigError).option, `proxy.${key}`)
      }
    }),
    fcParams(),
  )
})

Shared('should never throw anything but a StickyConfigError (property)', () => {
  fc.assert(
    fc.property(fc.anything(), (given) => {
      try {
        resolveSharedProxyOptions(given, ['agent'])
      } catch (error) {
        assert.instance(error, StickyConfigError)
      }
    }),
    fcParams(),
  )
})

Shared('should refuse a request id in any field that frames, routes or authenticates the request, in any case', () => {
  for (const name of [
    'Host',
    'Content-Length',
    'Content-Type',
    'Cookie',
    'Set-Cookie',
    'Authorization',
    'Expect',
    'Forwarded',
    'X-Forwarded-For',
    'X-Forwarded-Proto',
    'X-Forwarded-Host',
  ]) {
    for (const given of [name, name.toLowerCase(), name.toUpperCase()]) {
      const error = expectConfigError(() => resolveSharedProxyOptions({ requestId: given }), 'proxy.requestId')
      assert.is(error.value, given)
    }
  }
})

Shared('should refuse, as for the header carrier, an encoding field, any X-Forwarded-* field, a hop-by-hop one and a name over 256 characters', () => {
  for (const given of ['Content-Encoding', 'X-Forwarded-Port', 'x-forwarded-anything', 'Connection', 'TE', `X-${'a'.repeat(255)}`]) {
    assert.is(expectConfigError(() => resolveSharedProxyOptions({ requestId: given }), 'proxy.requestId').value, given)
  }
  assert.is(resolveSharedProxyOptions({ requestId: `X-${'a'.repeat(254)}` }).requestId?.length, 256)
})

Shared('should name the scope in trustProxy errors', () => {
  expectConfigError(() => resolveSharedProxyOptions({ trustProxy: 'everyone' }, [], 'routes[2].proxy'), 'routes[2].proxy.trustProxy')
  expectConfigError(() => resolveSharedProxyOptions({ trustProxy: ['loopback', 'nowhere'] }, [], 'routes[2].proxy'), 'routes[2].proxy.trustProxy[1]')
})

Shared.run()
