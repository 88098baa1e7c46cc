import fc from 'fast-check'
import type { AttemptEvent } from 'sticky-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { causeCodes, cutEvent, failureEvent } from '../src/attempt-event'
import type { FailureFacts } from '../src/attempt-event'
import { ClientBodyError } from '../src/request-body'
import { checkProperty } from './_seed'

/** An error shaped like the transport's, wrapped the way reply-from wraps it. */
function wrapped(code: string, outer = 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR'): Error {
  const inner = Object.assign(new Error('inner'), { code })
  return Object.assign(new Error('outer', { cause: inner }), { code: outer })
}

/** undici's own refusal of a head, as reply-from wraps it. */
function undiciRefused(message: string): Error {
  const inner = Object.assign(new Error(message), { code: 'UND_ERR_SOCKET' })
  return Object.assign(new Error('outer', { cause: inner }), { code: 'UND_ERR_SOCKET' })
}

/**
 * undici's `HTTPParserError` as undici builds it (name set, `code` left `undefined` by its lookup
 * of the llhttp error name, the unparsed bytes in `data`), wrapped by reply-from.
 */
function parserError(): Error {
  const inner = Object.assign(new Error('Response does not match the HTTP/1.1 protocol (Invalid response status)'), {
    name: 'HTTPParserError',
    code: undefined,
    data: '0 OK\r\n\r\n',
  })
  return Object.assign(new Error(inner.message, { cause: inner }), { code: 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR' })
}

/** An error carrying only undici's parser-error brand (its `instanceof` check), however named. */
function branded(): Error {
  const inner = Object.assign(new Error('renamed'), { [Symbol.for('undici.error.UND_ERR_HTTP_PARSER')]: true })
  return Object.assign(new Error('outer', { cause: inner }), { code: 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR' })
}

/** A fresh connection that carried the request head, nothing back yet, client still there. */
const FRESH: FailureFacts = { clientGone: false, awaitingClient: false, uploading: false, reused: false, sent: true, answerStarted: false }
const REUSED: FailureFacts = { ...FRESH, reused: true }
const NOT_SENT: FailureFacts = { ...FRESH, sent: false }
const UPLOADING: FailureFacts = { ...FRESH, uploading: true }
const UNSEEN: FailureFacts = { ...FRESH, reused: undefined, sent: undefined, answerStarted: undefined }

const failure = suite('failureEvent')

const cases: ReadonlyArray<readonly [string, unknown, FailureFacts, AttemptEvent]> = [
  ['a refused connection', wrapped('ECONNREFUSED'), NOT_SENT, 'connect-failed'],
  ['a reset while the upload was under way', wrapped('ECONNRESET'), UPLOADING, 'peer-closed-during-upload'],
  ['a close while the upload was under way', wrapped('UND_ERR_SOCKET'), UPLOADING, 'peer-closed-during-upload'],
  ['a broken pipe while the upload was under way', wrapped('EPIPE'), UPLOADING, 'peer-closed-during-upload'],
  ['a refused connection before any upload', wrapped('ECONNREFUSED'), { ...UPLOADING, sent: false }, 'connect-failed'],
  ['an unknown host, as reply-from wraps it', wrapped('ENOTFOUND', 'FST_REPLY_FROM_SERVICE_UNAVAILABLE'), NOT_SENT, 'connect-failed'],
  ['an unreachable network', wrapped('ENETUNREACH'), NOT_SENT, 'connect-failed'],
  ['a missing unix socket', wrapped('ENOENT'), NOT_SENT, 'connect-failed'],
  ['a refused TLS handshake', wrapped('ERR_SSL_WRONG_VERSION_NUMBER'), NOT_SENT, 'connect-failed'],
  ["undici's connect timeout", wrapped('UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'), UNSEEN, 'connect-timeout'],
  ['a reset before the request went out', wrapped('ECONNRESET', 'ECONNRESET'), NOT_SENT, 'connect-failed'],
  ['a kernel connect timeout', wrapped('ETIMEDOUT'), NOT_SENT, 'connect-timeout'],
  ['"other side closed" on a reused connection', wrapped('UND_ERR_SOCKET', 'UND_ERR_SOCKET'), REUSED, 'stale-connection'],
  ['a reset on a reused connection', wrapped('ECONNRESET', 'ECONNRESET'), REUSED, 'stale-connection'],
  ['a broken pipe on a reused connection', wrapped('EPIPE'), REUSED, 'stale-connection'],
  ['a reused connection closed after part of an answer', wrapped('UND_ERR_SOCKET', 'UND_ERR_SOCKET'), { ...REUSED, answerStarted: true }, 'peer-reset'],
  ['"other side closed" on a fresh connection', wrapped('UND_ERR_SOCKET', 'UND_ERR_SOCKET'), FRESH, 'peer-reset'],
  ['a reset on a fresh connection', wrapped('ECONNRESET', 'ECONNRESET'), FRESH, 'peer-reset'],
  ['a reset the transport did not show', wrapped('ECONNRESET', 'ECONNRESET'), UNSEEN, 'peer-reset'],
  ["undici's headers timeout, as reply-from wraps it", wrapped('UND_ERR_HEADERS_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT'), FRESH, 'peer-silent'],
  ["node:http's request timeout", wrapped('FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT'), FRESH, 'peer-silent'],
  [
    "node:http's request timeout before connecting",
    wrapped('FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT'),
    NOT_SENT,
    'connect-timeout',
  ],
  [
    "node:http's request timeout while the client uploads slowly",
    wrapped('FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT'),
    { ...FRESH, awaitingClient: true },
    'client-stalled',
  ],
  ['a malformed status line', wrapped('HPE_INVALID_CONSTANT'), FRESH, 'peer-protocol-error'],
  ["undici's parser refusing the head, as reply-from wraps it (no code)", parserError(), FRESH, 'peer-protocol-error'],
  ["undici's parser refusing the head, told by its brand alone", branded(), FRESH, 'peer-protocol-error'],
  ["undici's parser refusing the head on a reused connection", parserError(), REUSED, 'peer-protocol-error'],
  ['a valid interim 100 that undici refuses', undiciRefused('bad response'), { ...REUSED, answerStarted: true }, 'proxy-failed'],
  ['a valid interim 100 that undici refuses on a fresh connection', undiciRefused('bad response'), FRESH, 'proxy-failed'],
  ['an upgrade nobody asked for', undiciRefused('bad upgrade'), FRESH, 'peer-protocol-error'],
  ['an invalid header token', wrapped('HPE_INVALID_HEADER_TOKEN'), REUSED, 'peer-protocol-error'],
  ['oversized response headers', wrapped('UND_ERR_HEADERS_OVERFLOW'), FRESH, 'peer-protocol-error'],
  ['a status Fastify cannot send', Object.assign(new Error('Bad Gateway'), { code: 'FST_REPLY_FROM_BAD_GATEWAY' }), FRESH, 'peer-protocol-error'],
  ['a body timeout', wrapped('UND_ERR_BODY_TIMEOUT'), FRESH, 'peer-cut-response'],
  ['a response longer than its Content-Length', wrapped('UND_ERR_RES_CONTENT_LENGTH_MISMATCH'), FRESH, 'peer-cut-response'],
  ["the client's failing body", new Error('outer', { cause: new ClientBodyError(new Error('aborted')) }), FRESH, 'client-body-failed'],
  ['a body shorter than its Content-Length', wrapped('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'), FRESH, 'client-body-failed'],
  ['a request field undici refuses', wrapped('UND_ERR_INVALID_ARG'), UNSEEN, 'client-body-failed'],
  ["the proxy's pool closing under the request", wrapped('UND_ERR_DESTROYED'), UNSEEN, 'proxy-failed'],
  ['an error without a code', new Error('odd'), FRESH, 'proxy-failed'],
  ['a thrown string', 'boom', FRESH, 'proxy-failed'],
  ["a peer's reset once the client is gone", wrapped('ECONNRESET', 'ECONNRESET'), { ...FRESH, clientGone: true }, 'client-gone'],
  ['a refused connection once the client is gone', wrapped('ECONNREFUSED'), { ...NOT_SENT, clientGone: true }, 'client-gone'],
]
for (const [name, error, facts, expected] of cases) {
  failure(`should translate ${name} into ${expected}`, () => {
    assert.is(failureEvent(error, facts), expected)
  })
}

failure("should find undici's parser error however deep it is wrapped, unless the client is gone or its body failed", () => {
  checkProperty(
    'failureEvent parser error',
    fc.array(fc.constantFrom('FST_REPLY_FROM_INTERNAL_SERVER_ERROR', 'UND_ERR_SOCKET', undefined), { maxLength: 5 }),
    facts,
    (wrappers, f) => {
      let error: unknown = { name: 'HTTPParserError', code: undefined }
      for (const code of wrappers) error = { code, cause: error }
      assert.is(failureEvent(error, f), f.clientGone ? 'client-gone' : 'peer-protocol-error')
    },
  )
})

failure('should stop on a cause cycle', () => {
  const a: { code: string; cause?: unknown } = { code: 'X' }
  a.cause = a
  assert.is(failureEvent(a, FRESH), 'proxy-failed')
})

const facts: fc.Arbitrary<FailureFacts> = fc.record({
  clientGone: fc.boolean(),
  awaitingClient: fc.boolean(),
  uploading: fc.boolean(),
  reused: fc.option(fc.boolean(), { nil: undefined }),
  sent: fc.option(fc.boolean(), { nil: undefined }),
  answerStarted: fc.option(fc.boolean(), { nil: undefined }),
})

failure('should never throw, and say client-gone whenever the client is gone', () => {
  checkProperty('failureEvent total', fc.anything({ withObjectString: true }), facts, (error, f) => {
    const event = failureEvent(error, f)
    if (f.clientGone) assert.is(event, 'client-gone')
    else assert.is.not(event, 'client-gone')
  })
})

failure('should never call a connection stale unless it was reused and nothing came back on it', () => {
  const codes = fc.constantFrom('ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED', 'ETIMEDOUT', 'ECONNREFUSED', 'HPE_INVALID_CONSTANT')
  checkProperty('failureEvent stale', codes, facts, (code, f) => {
    if (failureEvent(wrapped(code), f) === 'stale-connection') {
      assert.ok(f.reused === true && f.answerStarted !== true && f.sent !== false, JSON.stringify(f))
    }
  })
})

failure('should read the innermost code, however deep reply-from wraps it', () => {
  const codes = fc.constantFrom('ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'HPE_INVALID_CONSTANT')
  const outer = fc.option(fc.constantFrom('FST_REPLY_FROM_INTERNAL_SERVER_ERROR', 'UND_ERR_SOCKET', 'ECONNRESET'), { nil: undefined })
  checkProperty('failureEvent wrapping', codes, fc.array(outer, { maxLength: 4 }), facts, (code, wrappers, f) => {
    let error: unknown = { code }
    for (const wrapperCode of wrappers) error = wrapperCode === undefined ? { cause: error } : { code: wrapperCode, cause: error }
    assert.is(failureEvent(error, f), failureEvent({ code }, f))
  })
})

failure.run()

const cut = suite('cutEvent')

cut('should blame the cut on the client only when the client is gone', () => {
  assert.is(cutEvent(true), 'client-gone')
  assert.is(cutEvent(false), 'peer-cut-response')
})

cut("should take an early answer's broken body for the reset of the unread upload, never the peer's fault", () => {
  assert.is(cutEvent(false, true), 'peer-closed-during-upload')
  assert.is(cutEvent(true, true), 'client-gone')
})

cut.run()

const codes = suite('causeCodes')

codes('should list the codes innermost first and skip links without one', () => {
  const error = { code: 'A', cause: { cause: { code: 'C', cause: 'not an object' } } }
  assert.equal(causeCodes(error), ['C', 'A'])
})

codes.run()
