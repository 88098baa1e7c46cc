import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { fastCheckSeed } from 'sticky-conformance'
import { connectionTokens, createBalancer, StickyConfigError } from 'sticky-core'
import { AgentPool, IDLE_TIMEOUT_MS } from '../src/agents'
import { isConnectionReset } from '../src/failure'
import { endToEndHeaders } from '../src/hop-by-hop'
import { resolveProxyOptions } from '../src/options'
import { errorBody, rawError, rawHead } from '../src/respond'
import { poolable } from '../src/pooled-attempt'
import { originForm } from '../src/upstream'

const HOP = ['Connection', 'Keep-Alive', 'Proxy-Connection', 'TE', 'Transfer-Encoding', 'Upgrade', 'Proxy-Authorization', 'Proxy-Authenticate']

const headerName = fc.constantFrom('Host', 'Accept', 'X-A', 'x-b', 'Set-Cookie', 'Cookie', ...HOP, 'KEEP-ALIVE', 'te', 'X-Private')
const headerValue = fc.constantFrom(
  '1',
  'close',
  'x-a',
  'X-Private, x-b',
  ' keep-alive , te ',
  '',
  'a=b; c=d',
  'keep-alive',
  ' Keep-Alive\t',
  'keep-alive, x-a',
)
const rawList = fc.array(fc.tuple(headerName, headerValue), { maxLength: 12 })

// ----------------------------------------------------------------------------------------------
const e2e = suite('endToEndHeaders')

e2e('should drop hop-by-hop fields and the fields Connection names, keeping case, order and repeats', () => {
  const raw = [
    'Host',
    'a',
    'Connection',
    'keep-alive, X-Private',
    'X-Private',
    'secret',
    'Keep-Alive',
    'timeout=5',
    'Set-Cookie',
    'a=1',
    'TE',
    'trailers',
    'Transfer-Encoding',
    'chunked',
    'Upgrade',
    'h2c',
    'Proxy-Connection',
    'keep-alive',
    'Set-Cookie',
    'b=2',
    'X-Keep',
    'yes',
    'Proxy-Authorization',
    'Basic x',
    'Trailer',
    'X-Sum',
  ]
  assert.equal(endToEndHeaders(raw), ['Host', 'a', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Keep', 'yes', 'Trailer', 'X-Sum'])
})

e2e('should honour every Connection line, whatever the case of its name', () => {
  const raw = ['connection', 'a', 'A', '1', 'X', 'b', 'B', '2', 'CONNECTION', 'c', 'C', '3', 'Proxy-Authenticate', 'Basic']
  assert.equal(endToEndHeaders(raw), ['X', 'b', 'B', '2'])
})

e2e('should also drop the names it is given', () => {
  assert.equal(endToEndHeaders(['Expect', '100-continue', 'X-Forwarded-For', '1.2.3.4', 'A', 'b'], new Set(['expect', 'x-forwarded-for'])), ['A', 'b'])
})

e2e('should keep exactly the end-to-end pairs, in order (property)', () => {
  fc.assert(
    fc.property(rawList, (pairs) => {
      const raw = pairs.flat()
      const named = connectionTokens(pairs.filter(([n]) => n.toLowerCase() === 'connection').map(([, v]) => v))
      const out = endToEndHeaders(raw)
      const expected = pairs.filter(([n]) => !HOP.some((h) => h.toLowerCase() === n.toLowerCase()) && !named.has(n.toLowerCase())).flat()
      assert.equal(out, expected)
    }),
    { seed: fastCheckSeed('endToEndHeaders') },
  )
})
e2e('should drop a field named Keep-Alive with a lone Connection: keep-alive, and still the fields a second Connection line names', () => {
  assert.equal(endToEndHeaders(['Connection', 'Keep-Alive', 'Keep-Alive', 'timeout=5', 'X-A', '1']), ['X-A', '1'])
  assert.equal(endToEndHeaders(['Connection', 'keep-alive', 'X-A', '1', 'Connection', 'x-a', 'B', '2']), ['B', '2'])
})
e2e.run()

// ----------------------------------------------------------------------------------------------
const pooling = suite('poolable')

pooling('should send through the pool only idempotent requests without a body and with an origin-form target', () => {
  assert.ok(poolable(true, false, '/a?b'))
  assert.not.ok(poolable(false, false, '/a'))
  assert.not.ok(poolable(true, true, '/a'))
  assert.not.ok(poolable(true, false, '*'))
  fc.assert(
    fc.property(fc.boolean(), fc.boolean(), fc.string(), (idempotent, withBody, path) => {
      assert.is(poolable(idempotent, withBody, path), idempotent && !withBody && path.startsWith('/'))
    }),
    { seed: fastCheckSeed('poolable') },
  )
})
pooling.run()

// ----------------------------------------------------------------------------------------------
const origin = suite('originForm')

origin('should keep origin-form targets and reduce absolute ones to their path', () => {
  const cases: [string | undefined, string][] = [
    [undefined, '/'],
    ['', '/'],
    ['/a?b=c', '/a?b=c'],
    ['*', '*'],
    ['http://127.0.0.1:9/x?y', '/x?y'],
    ['https://evil.example/', '/'],
    ['evil.example:80', '/'],
    ['::not a url', '/'],
  ]
  for (const [input, expected] of cases) assert.is(originForm(input), expected, String(input))
})

origin('should always yield a path or "*" and never throw (property)', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.webPath()), (url) => {
      const out = originForm(url)
      assert.ok(out === '*' || out.startsWith('/'), out)
    }),
    { seed: fastCheckSeed('originForm') },
  )
})
origin.run()

// ----------------------------------------------------------------------------------------------
// ----------------------------------------------------------------------------------------------
const resolve = suite('resolveProxyOptions')

resolve('should apply the defaults', () => {
  const r = resolveProxyOptions(undefined)
  assert.is(r.timeout, 60_000)
  assert.is(r.retries, undefined)
  assert.is(r.agent, undefined)
  assert.equal(r.xForwarded, { for: true, proto: true, host: true, forwarded: false })
  assert.is(r.requestId, undefined)
  assert.is(r.trustProxy.trusts('127.0.0.1'), false)
})

resolve('should expand xForwarded', () => {
  const cases = [
    { given: false, expected: { for: false, proto: false, host: false, forwarded: false } },
    { given: true, expected: { for: true, proto: true, host: true, forwarded: false } },
    { given: { for: false }, expected: { for: false, proto: true, host: true, forwarded: false } },
    { given: { proto: false, host: false }, expected: { for: true, proto: false, host: false, forwarded: false } },
    { given: { forwarded: true }, expected: { for: true, proto: true, host: true, forwarded: true } },
  ]
  for (const { given, expected } of cases) assert.equal(resolveProxyOptions({ xForwarded: given }).xForwarded, expected)
})

resolve('should read a timeout of 0 as no limit and keep it', () => {
  assert.is(resolveProxyOptions({ timeout: 0 }).timeout, 0)
})

resolve('should reject invalid values with a StickyConfigError naming the option and the value', () => {
  const notAFunction = {}
  const cases: [Record<string, unknown>, string, unknown][] = [
    [{ timeout: -1 }, 'proxy.timeout', -1],
    [{ timeout: Number.NaN }, 'proxy.timeout', Number.NaN],
    [{ timeout: Infinity }, 'proxy.timeout', Infinity],
    [{ timeout: '10' }, 'proxy.timeout', '10'],
    [{ timeout: 1.5 }, 'proxy.timeout', 1.5],
    [{ bogus: 1 }, 'proxy.bogus', 1],
    [{ fetch: notAFunction }, 'proxy.fetch', notAFunction],
    [{ xForwarded: { port: true } }, 'proxy.xForwarded.port', true],
    [{ retries: -1 }, 'proxy.retries', -1],
    [{ retries: 1.5 }, 'proxy.retries', 1.5],
    [{ agent: notAFunction }, 'proxy.agent', notAFunction],
    [{ xForwarded: 'yes' }, 'proxy.xForwarded', 'yes'],
    [{ xForwarded: 1 }, 'proxy.xForwarded', 1],
    [{ xForwarded: { for: 1 } }, 'proxy.xForwarded.for', 1],
  ]
  for (const [options, name, value] of cases) {
    const label = JSON.stringify(options)
    let error: unknown
    try {
      resolveProxyOptions(options as never)
    } catch (e) {
      error = e
    }
    assert.instance(error, StickyConfigError, label)
    assert.instance(error, TypeError, label)
    const e = error as StickyConfigError
    assert.is(e.option, name, label)
    assert.ok(Object.is(e.value, value), label)
    assert.match(e.message, name, label)
  }
})

resolve('should read a timeout with units as milliseconds', () => {
  assert.is(resolveProxyOptions({ timeout: '10s' }).timeout, 10_000)
  assert.is(resolveProxyOptions({ timeout: '1m500ms' }).timeout, 60_500)
})

resolve('should accept every integer timeout a timer keeps and non-negative integer retries (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2_147_483_647 }), fc.nat(), (timeout, retries) => {
      const r = resolveProxyOptions({ timeout, retries })
      assert.is(r.timeout, timeout)
      assert.is(r.retries, retries)
    }),
    { seed: fastCheckSeed('resolveProxyOptions') },
  )
})
resolve.run()

// ----------------------------------------------------------------------------------------------
const body = suite('errorBody')

body('should be one short line naming the status', () => {
  assert.is(errorBody(502, 'no peer available'), '502 Bad Gateway: no peer available\n')
  assert.is(errorBody(504, 'slow'), '504 Gateway Timeout: slow\n')
})
body.run()

// ----------------------------------------------------------------------------------------------
const head = suite('rawHead')

head('should write a status line, the headers in order, and a blank line', () => {
  assert.is(
    rawHead(101, 'Switching Protocols', ['Upgrade', 'websocket', 'Set-Cookie', 'a=1']),
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSet-Cookie: a=1\r\n\r\n',
  )
  assert.is(rawHead(502, undefined, []), 'HTTP/1.1 502 Bad Gateway\r\n\r\n')
})
head.run()

// ----------------------------------------------------------------------------------------------
const rawErr = suite('rawError')

rawErr('should be a complete response that closes the connection', () => {
  const text = rawError(502, 'no peer available')
  const [headPart = '', bodyPart = ''] = text.split('\r\n\r\n')
  assert.match(headPart, /^HTTP\/1\.1 502 Bad Gateway\r\n/)
  assert.match(headPart, /\r\nconnection: close/i)
  assert.match(headPart, new RegExp(`content-length: ${Buffer.byteLength(bodyPart)}`, 'i'))
})
rawErr.run()

// ----------------------------------------------------------------------------------------------
const reset = suite('isConnectionReset')

for (const [error, expected] of [
  [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), true],
  [Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), true],
  [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), false],
  [Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }), false],
  [Object.assign(new Error('parse'), { code: 'HPE_INVALID_CONSTANT' }), false],
  [null, false],
  ['ECONNRESET', false],
] as const) {
  reset(`should say ${expected} for ${String((error as { code?: string } | null)?.code ?? error)}`, () => {
    assert.is(isConnectionReset(error), expected)
  })
}

reset('should never throw, whatever it is given (property)', () => {
  fc.assert(
    fc.property(fc.anything(), (value) => void isConnectionReset(value)),
    { seed: fastCheckSeed('isConnectionReset') },
  )
})
reset.run()

// ----------------------------------------------------------------------------------------------
const pool = suite('AgentPool')

/** node:http keeps an agent's options on it; the typings do not say so. */
function optionsOf(agent: object): { keepAlive?: boolean; timeout?: number } {
  return (agent as { options: { keepAlive?: boolean; timeout?: number } }).options
}

pool("should give its own agents keep-alive and an idle timeout below node:http servers' 5 s keepAliveTimeout", () => {
  const [peer] = createBalancer({ peers: ['127.0.0.1:1'] }).peers
  if (peer === undefined) throw new Error('peers not configured')
  const agents = new AgentPool(undefined)
  try {
    const options = optionsOf(agents.get(peer))
    assert.is(options.keepAlive, true)
    assert.is(options.timeout, IDLE_TIMEOUT_MS)
    assert.ok(IDLE_TIMEOUT_MS < 5_000)
  } finally {
    agents.close()
  }
})

pool('should let the agent option override the idle timeout', () => {
  const [peer] = createBalancer({ peers: ['127.0.0.1:1'] }).peers
  if (peer === undefined) throw new Error('peers not configured')
  const agents = new AgentPool(() => ({ timeout: 1_000 }))
  try {
    assert.is(optionsOf(agents.get(peer)).timeout, 1_000)
  } finally {
    agents.close()
  }
})
pool.run()
