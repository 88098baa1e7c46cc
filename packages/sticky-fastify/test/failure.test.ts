import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Peer } from 'sticky-core'
import { blamesPeer, classifyFailure } from '../src/failure'
import { StickyGatewayError } from '../src/gateway-error'
import { mayRetry } from '../src/retry'
import { targetUrl } from '../src/target'
import { checkProperty } from './_seed'

/** An error shaped like the transport's, wrapped the way reply-from wraps it. */
function wrapped(code: string): Error {
  const inner = Object.assign(new Error('inner'), { code })
  return Object.assign(new Error('outer', { cause: inner }), { code: 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR' })
}

const classify = suite('classifyFailure')

const classifyCases: ReadonlyArray<readonly [string, unknown, 502 | 504, boolean]> = [
  ['a refused connection', wrapped('ECONNREFUSED'), 502, true],
  ['a reset connection', wrapped('ECONNRESET'), 502, true],
  ['an undici socket error', wrapped('UND_ERR_SOCKET'), 502, true],
  ['an unknown host', wrapped('ENOTFOUND'), 502, true],
  ['a connect timeout', wrapped('UND_ERR_CONNECT_TIMEOUT'), 504, true],
  ['a headers timeout', wrapped('UND_ERR_HEADERS_TIMEOUT'), 504, false],
  ['reply-from gateway timeout', Object.assign(new Error('t'), { code: 'FST_REPLY_FROM_GATEWAY_TIMEOUT' }), 504, false],
  ['a bare refused error', Object.assign(new Error('r'), { code: 'ECONNREFUSED' }), 502, true],
  ['an error without a code', new Error('odd'), 502, false],
  ['a thrown string', 'boom', 502, false],
  ['null', null, 502, false],
]
for (const [name, error, status, retryable] of classifyCases) {
  classify(`should map ${name} to ${status}${retryable ? ', retryable' : ''}`, () => {
    assert.equal(classifyFailure(error), { status, retryable })
  })
}

classify('should stop on a cause cycle', () => {
  const a: { code: string; cause?: unknown } = { code: 'X' }
  a.cause = a
  assert.equal(classifyFailure(a), { status: 502, retryable: false })
})

classify('should never throw and only answer 502 or 504', () => {
  checkProperty('classifyFailure total', fc.anything({ withObjectString: true }), (value) => {
    const failure = classifyFailure(value)
    assert.ok(failure.status === 502 || failure.status === 504)
  })
})

classify('should classify by the innermost code, however deep reply-from wraps it', () => {
  const codes = fc.constantFrom('ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'EWHATEVER')
  const outer = fc.option(fc.constantFrom('FST_REPLY_FROM_INTERNAL_SERVER_ERROR', 'UND_ERR_SOCKET', 'ECONNRESET'), { nil: undefined })
  checkProperty('classifyFailure wrapping', codes, fc.array(outer, { maxLength: 4 }), (code, wrappers) => {
    let error: unknown = { code }
    for (const wrapperCode of wrappers) error = wrapperCode === undefined ? { cause: error } : { code: wrapperCode, cause: error }
    const known = code !== 'EWHATEVER'
    if (known) assert.equal(classifyFailure(error), classifyFailure({ code }))
    else assert.ok(classifyFailure(error).status === 502)
  })
})

classify.run()

const blames = suite('blamesPeer')

const blameCases: ReadonlyArray<readonly [string, unknown, boolean]> = [
  ['a refused connection', wrapped('ECONNREFUSED'), true],
  ['a reset connection', wrapped('ECONNRESET'), true],
  ['a connect timeout', wrapped('UND_ERR_CONNECT_TIMEOUT'), true],
  ['a headers timeout', wrapped('UND_ERR_HEADERS_TIMEOUT'), true],
  ['an error without a code', new Error('odd'), false],
  ['a content-length mismatch of the request', wrapped('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'), false],
]
for (const [name, error, expected] of blameCases) {
  blames(`should ${expected ? '' : 'not '}count ${name} against the peer`, () => {
    assert.is(blamesPeer(classifyFailure(error)), expected)
  })
}

blames('should count exactly the connection failures and the timeouts', () => {
  const peerFaults = [
    'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENOTFOUND',
    'EAI_AGAIN', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT', 'FST_REPLY_FROM_TIMEOUT', 'FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT',
  ]
  const codes = fc.oneof(fc.constantFrom(...peerFaults), fc.string())
  checkProperty('blamesPeer', codes, (code) => {
    assert.is(blamesPeer(classifyFailure(wrapped(code))), peerFaults.includes(code), code)
  })
})

blames.run()

const retry = suite('mayRetry')

const retryCases: ReadonlyArray<readonly [string, boolean, number, number, boolean]> = [
  ['GET', false, 1, 2, true],
  ['HEAD', false, 2, 2, true],
  ['GET', false, 3, 2, false],
  ['GET', false, 1, 0, false],
  ['PUT', false, 1, 1, true],
  ['DELETE', false, 1, 1, true],
  ['OPTIONS', false, 1, 1, true],
  ['PUT', true, 1, 1, false],
  ['POST', false, 1, 5, false],
  ['PATCH', false, 1, 5, false],
]
for (const [method, body, attempts, retries, expected] of retryCases) {
  retry(`should say ${expected} for ${method}${body ? ' with a body' : ''} after ${attempts} attempt(s) with retries=${retries}`, () => {
    assert.is(mayRetry(method, body, attempts, retries), expected)
  })
}

retry('should allow at most `retries` further attempts and never one with a body', () => {
  const method = fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'POST', 'PATCH', 'QUERY')
  checkProperty('mayRetry', method, fc.boolean(), fc.nat(10), (m, body, retries) => {
    let attempts = 1
    while (mayRetry(m, body, attempts, retries)) attempts++
    const extra = attempts - 1
    assert.ok(extra <= retries)
    if (body || m === 'POST' || m === 'PATCH' || m === 'QUERY') assert.is(extra, 0)
    else assert.is(extra, retries)
  })
})

retry.run()

const target = suite('targetUrl')

function peer(target: Peer['target']): Peer {
  return { id: 'x', address: 'x', route: undefined, weight: 1, backup: false, down: false, drain: false, maxFails: 1, failTimeout: 10_000, target }
}

target('should join a TCP origin and the path, even a path that looks like a host', () => {
  const tcp = peer({ kind: 'tcp', protocol: 'http:', host: '127.0.0.1', port: 9001, origin: 'http://127.0.0.1:9001' })
  assert.is(targetUrl(tcp, '/a?b'), 'http://127.0.0.1:9001/a?b')
  const url = new URL(targetUrl(tcp, '//evil.example/x'))
  assert.is(url.host, '127.0.0.1:9001')
  assert.is(url.pathname, '//evil.example/x')
})

target('should address a unix socket in reply-from\'s unix+http form', () => {
  const unix = peer({ kind: 'unix', protocol: 'http:', socketPath: '/run/app.sock', origin: 'http://localhost' })
  assert.is(targetUrl(unix, '/x'), 'unix+http://%2Frun%2Fapp.sock/x')
})

target('should keep the peer\'s host for every path', () => {
  const tcp = peer({ kind: 'tcp', protocol: 'http:', host: '127.0.0.1', port: 8080, origin: 'http://127.0.0.1:8080' })
  const path = fc.array(fc.stringMatching(/^[a-zA-Z0-9._~@:-]{0,6}$/), { maxLength: 4 }).map((p) => `/${p.join('/')}`)
  checkProperty('targetUrl', path, (p) => {
    assert.is(new URL(targetUrl(tcp, p)).host, '127.0.0.1:8080')
  })
})

target.run()

const gateway = suite('StickyGatewayError')

gateway('should carry the status and code Fastify renders, and no peer address', () => {
  const cause = new Error('connect ECONNREFUSED 127.0.0.1:9001')
  const error = new StickyGatewayError(502, 'STICKY_UPSTREAM_FAILED', { cause })
  assert.instance(error, Error)
  assert.is(error.statusCode, 502)
  assert.is(error.code, 'STICKY_UPSTREAM_FAILED')
  assert.is(error.cause, cause)
  assert.not.match(error.message, /127\.0\.0\.1/)
})

gateway.run()
