import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { fastCheckSeed } from 'sticky-conformance'
import { formatAccessLog, type AccessLogFields } from '../src/access-log'

const seed = fastCheckSeed('access-log.test')
const at = new Date('2025-01-31T12:00:00.000Z')

function fields(overrides: Partial<AccessLogFields> = {}): AccessLogFields {
  return {
    method: 'GET',
    path: '/cart',
    outcome: 'hit',
    status: 200,
    peer: { id: '10.0.0.1:8080' },
    attempts: 1,
    durationMs: 12.4,
    error: undefined,
    upgrade: false,
    ...overrides,
  }
}

const FormatAccessLog = suite('formatAccessLog')

const lines: ReadonlyArray<readonly [string, AccessLogFields, string]> = [
  ['a hit', fields(), '2025-01-31T12:00:00.000Z GET /cart 200 hit 10.0.0.1:8080 attempts=1 12ms'],
  [
    'a 502 without a peer',
    fields({ status: 502, peer: null, attempts: 0, outcome: 'unavailable', error: 'unavailable' }),
    '2025-01-31T12:00:00.000Z GET /cart 502 unavailable - attempts=0 12ms error=unavailable',
  ],
  [
    'a retried request',
    fields({ outcome: 'repinned', attempts: 2, durationMs: 0.4 }),
    '2025-01-31T12:00:00.000Z GET /cart 200 repinned 10.0.0.1:8080 attempts=2 0ms',
  ],
  ['an upgrade', fields({ status: 101, upgrade: true, outcome: 'new' }), '2025-01-31T12:00:00.000Z GET /cart 101 new 10.0.0.1:8080 attempts=1 12ms upgrade'],
  [
    'a path without its query string',
    fields({ method: 'POST', path: '/login?token=abc' }),
    '2025-01-31T12:00:00.000Z POST /login 200 hit 10.0.0.1:8080 attempts=1 12ms',
  ],
  [
    'escaped controls and spaces',
    fields({ method: 'GET', path: '/a b\n\u00e9\u2028' }),
    '2025-01-31T12:00:00.000Z GET /a%20b%0A%E9%u2028 200 hit 10.0.0.1:8080 attempts=1 12ms',
  ],
  ['dashes for what is missing', fields({ method: '', path: '' }), '2025-01-31T12:00:00.000Z - - 200 hit 10.0.0.1:8080 attempts=1 12ms'],
]
for (const [name, input, expected] of lines) {
  FormatAccessLog(`should format ${name}`, () => {
    assert.is(formatAccessLog(input, at), expected)
  })
}

const anyFields: fc.Arbitrary<AccessLogFields> = fc.record({
  method: fc.string(),
  path: fc.string(),
  outcome: fc.constantFrom('hit', 'new', 'invalid', 'repinned', 'unavailable' as const),
  status: fc.integer({ min: 100, max: 599 }),
  peer: fc.option(fc.record({ id: fc.string() }), { nil: null }),
  attempts: fc.nat(10),
  durationMs: fc.double({ min: 0, max: 1e7, noNaN: true }),
  error: fc.option(fc.string(), { nil: undefined }),
  upgrade: fc.boolean(),
})

FormatAccessLog('should always be one line of printable ASCII with fields separated by single spaces', () => {
  fc.assert(
    fc.property(anyFields, (input) => {
      const line = formatAccessLog(input, at)
      return /^[\x21-\x7e]+( [\x21-\x7e]+){7,9}$/.test(line)
    }),
    { seed },
  )
})

FormatAccessLog('should keep method, status, outcome, attempts and duration in their columns', () => {
  fc.assert(
    fc.property(anyFields, (input) => {
      const columns = formatAccessLog(input, at).split(' ')
      return (
        columns[0] === at.toISOString() &&
        columns[3] === String(input.status) &&
        columns[4] === input.outcome &&
        columns[6] === `attempts=${input.attempts}` &&
        columns[7] === `${Math.round(input.durationMs)}ms`
      )
    }),
    { seed },
  )
})

FormatAccessLog('should never show the query string', () => {
  const secret = fc.stringMatching(/^[A-Za-z0-9]{8,16}$/)
  fc.assert(
    fc.property(fc.stringMatching(/^(\/[a-z0-9._~%-]{0,12}){1,4}$/), secret, (path, token) => {
      const line = formatAccessLog(fields({ method: 'GET', path: `${path}?session=${token}` }), at)
      return !line.includes(token) && !line.includes('?')
    }),
    { seed },
  )
})

FormatAccessLog.run()
