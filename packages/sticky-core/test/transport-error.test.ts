import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { isRefusedInterim, transportErrorEvent } from '../src/transport-error'
import { fcParams } from './_fc'

/** An error with a `code`, as undici and node:http raise them. */
function coded(code: string, message = code): Error {
  return Object.assign(new Error(message), { code })
}

/** `inner` wrapped as fetch and reply-from wrap a transport's error: `TypeError('fetch failed', { cause })`. */
function wrapped(inner: unknown, depth = 1): Error {
  let error: unknown = inner
  for (let n = 0; n < depth; n++) error = new TypeError('fetch failed', { cause: error })
  return error as Error
}

const Event = suite('transportErrorEvent')

const cases: ReadonlyArray<readonly [string, unknown, ReturnType<typeof transportErrorEvent>]> = [
  ['an interim 100 undici refused', coded('UND_ERR_SOCKET', 'bad response'), 'proxy-failed'],
  ['an unasked 101', coded('UND_ERR_SOCKET', 'bad upgrade'), 'peer-protocol-error'],
  ['an llhttp refusal', coded('HPE_INVALID_CONSTANT'), 'peer-protocol-error'],
  [
    'undici parser error without a code',
    Object.assign(new Error('Response does not match the HTTP/1.1 protocol'), { name: 'HTTPParserError' }),
    'peer-protocol-error',
  ],
  ['undici parser error known by its brand', Object.assign(new Error('x'), { [Symbol.for('undici.error.UND_ERR_HTTP_PARSER')]: true }), 'peer-protocol-error'],
  ['a head over the size limit', coded('UND_ERR_HEADERS_OVERFLOW'), 'peer-protocol-error'],
  ['a response over the size limit', coded('UND_ERR_RES_EXCEEDED_MAX_SIZE'), 'peer-protocol-error'],
  ['a status below 100 (parser assertion)', coded('ERR_ASSERTION'), 'peer-protocol-error'],
  ['the other side closed', coded('UND_ERR_SOCKET', 'other side closed'), undefined],
  ['a reset', coded('ECONNRESET'), undefined],
  ['a refused connection', coded('ECONNREFUSED'), undefined],
  ['a connect timeout', coded('UND_ERR_CONNECT_TIMEOUT'), undefined],
  ['a headers timeout', coded('UND_ERR_HEADERS_TIMEOUT'), undefined],
  ['no error object', 'boom', undefined],
  ['null', null, undefined],
]

for (const [what, error, expected] of cases) {
  Event(`should read ${what} as ${String(expected)}, bare and wrapped`, () => {
    assert.is(transportErrorEvent(error), expected)
    if (typeof error === 'object' && error !== null) {
      assert.is(transportErrorEvent(wrapped(error)), expected)
      assert.is(transportErrorEvent(wrapped(error, 3)), expected)
    }
  })
}

Event('should stop at a cycle and past eight links', () => {
  const a = coded('ECONNRESET') as Error & { cause?: unknown }
  const b = new Error('b', { cause: a })
  a.cause = b
  assert.is(transportErrorEvent(a), undefined)
  assert.is(transportErrorEvent(wrapped(coded('HPE_X'), 7)), 'peer-protocol-error')
  assert.is(transportErrorEvent(wrapped(coded('HPE_X'), 8)), undefined)
})

Event('should read the outermost telling error first: a refused interim wrapping a parser error is the refusal', () => {
  const outer = Object.assign(new Error('bad response', { cause: coded('HPE_X') }), { code: 'UND_ERR_SOCKET' })
  assert.is(transportErrorEvent(outer), 'proxy-failed')
})

Event('should never throw, whatever it is given (property)', () => {
  fc.assert(
    fc.property(fc.anything(), fc.string(), fc.string(), (value, code, message) => {
      const results = [transportErrorEvent(value), transportErrorEvent(wrapped(Object.assign(new Error(message), { code, cause: value })))]
      for (const result of results) assert.ok(result === undefined || result === 'proxy-failed' || result === 'peer-protocol-error')
      assert.type(isRefusedInterim(value), 'boolean')
    }),
    fcParams(),
  )
})

Event('should name an error exactly when one link of its chain is a refused interim or a malformed answer (property)', () => {
  const link = fc.oneof(
    fc.constantFrom(
      ['UND_ERR_SOCKET', 'bad response'],
      ['UND_ERR_SOCKET', 'bad upgrade'],
      ['UND_ERR_SOCKET', 'other side closed'],
      ['HPE_INVALID_STATUS', 'x'],
      ['ECONNRESET', 'x'],
    ),
    fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 })),
  )
  fc.assert(
    fc.property(fc.array(link, { minLength: 1, maxLength: 6 }), (links) => {
      let error: unknown
      for (const [code, message] of [...links].reverse()) error = Object.assign(new Error(message, { cause: error }), { code })
      const first = links.find(
        ([code, message]) =>
          (code === 'UND_ERR_SOCKET' && (message === 'bad response' || message === 'bad upgrade')) ||
          code.startsWith('HPE_') ||
          ['UND_ERR_HEADERS_OVERFLOW', 'UND_ERR_RES_EXCEEDED_MAX_SIZE', 'ERR_ASSERTION'].includes(code),
      )
      const expected = first === undefined ? undefined : first[1] === 'bad response' && first[0] === 'UND_ERR_SOCKET' ? 'proxy-failed' : 'peer-protocol-error'
      assert.is(transportErrorEvent(error), expected)
      assert.is(
        isRefusedInterim(error),
        links.some(([code, message]) => code === 'UND_ERR_SOCKET' && message === 'bad response'),
      )
    }),
    fcParams(),
  )
})
Event.run()

const Interim = suite('isRefusedInterim')

Interim('should tell undici refusing an interim 100 from its other closes, bare or wrapped', () => {
  assert.ok(isRefusedInterim(coded('UND_ERR_SOCKET', 'bad response')))
  assert.ok(isRefusedInterim(wrapped(coded('UND_ERR_SOCKET', 'bad response'), 2)))
  assert.not.ok(isRefusedInterim(coded('UND_ERR_SOCKET', 'other side closed')))
  assert.not.ok(isRefusedInterim(coded('ECONNRESET', 'bad response')))
  assert.not.ok(isRefusedInterim(undefined))
})
Interim.run()
