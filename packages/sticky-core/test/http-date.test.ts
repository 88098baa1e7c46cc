import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { formatHttpDate, HTTP_DATE_MAX, HTTP_DATE_MIN } from '../src/http-date'
import { fcParams } from './_fc'
import { thrown } from './_cookie'

const format = suite('formatHttpDate')

const examples: ReadonlyArray<readonly [ms: number, expected: string]> = [
  [Date.UTC(1994, 10, 6, 8, 49, 37), 'Sun, 06 Nov 1994 08:49:37 GMT'], // RFC 9110 section 5.6.7
  [0, 'Thu, 01 Jan 1970 00:00:00 GMT'],
  [-1, 'Wed, 31 Dec 1969 23:59:59 GMT'],
  [-0.5, 'Thu, 01 Jan 1970 00:00:00 GMT'],
  [999.9, 'Thu, 01 Jan 1970 00:00:00 GMT'],
  [1000, 'Thu, 01 Jan 1970 00:00:01 GMT'],
  [Date.UTC(2000, 1, 29), 'Tue, 29 Feb 2000 00:00:00 GMT'],
  [Date.UTC(2024, 1, 29, 23, 59, 59, 999), 'Thu, 29 Feb 2024 23:59:59 GMT'],
  [Date.UTC(2024, 2, 1), 'Fri, 01 Mar 2024 00:00:00 GMT'],
  [Date.UTC(1900, 1, 28), 'Wed, 28 Feb 1900 00:00:00 GMT'],
  [Date.UTC(1900, 2, 1), 'Thu, 01 Mar 1900 00:00:00 GMT'],
  [Date.UTC(1600, 1, 29), 'Tue, 29 Feb 1600 00:00:00 GMT'],
  [Date.UTC(2038, 0, 19, 3, 14, 8), 'Tue, 19 Jan 2038 03:14:08 GMT'],
  [Date.UTC(999, 11, 31), 'Tue, 31 Dec 0999 00:00:00 GMT'],
  [HTTP_DATE_MIN, 'Sat, 01 Jan 0000 00:00:00 GMT'],
  [HTTP_DATE_MAX, 'Fri, 31 Dec 9999 23:59:59 GMT'],
]

for (const [ms, expected] of examples) {
  format(`should format ${ms} as ${expected}`, () => {
    assert.is(formatHttpDate(ms), expected)
  })
}

format('should throw RangeError outside the four-digit-year range or for a non-number', () => {
  const bad: readonly unknown[] = [
    HTTP_DATE_MIN - 1,
    HTTP_DATE_MAX + 1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    '0',
    null,
    undefined,
    10n,
  ]
  for (const ms of bad)
    assert.instance(
      thrown(() => formatHttpDate(ms as number)),
      RangeError,
      String(ms),
    )
})

format('should equal Date#toUTCString for integer instants in the four-digit-year range (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: HTTP_DATE_MIN, max: HTTP_DATE_MAX }), (ms) => {
      assert.is(formatHttpDate(ms), new Date(ms).toUTCString())
    }),
    fcParams(2000),
  )
})

format('should equal Date#toUTCString near the epoch, leap days and century boundaries (property)', () => {
  const anchors = [
    0,
    Date.UTC(2000, 1, 29),
    Date.UTC(2100, 1, 28),
    Date.UTC(1900, 2, 1),
    Date.UTC(1600, 1, 29),
    HTTP_DATE_MIN + 86_400_000,
    HTTP_DATE_MAX - 86_400_000,
  ]
  fc.assert(
    fc.property(fc.constantFrom(...anchors), fc.integer({ min: -86_400_000, max: 86_400_000 }), (anchor, offset) => {
      assert.is(formatHttpDate(anchor + offset), new Date(anchor + offset).toUTCString())
    }),
    fcParams(1000),
  )
})

format('should equal Date#toUTCString for fractional instants (property)', () => {
  fc.assert(
    fc.property(fc.double({ min: HTTP_DATE_MIN, max: HTTP_DATE_MAX, noNaN: true }), (ms) => {
      assert.is(formatHttpDate(ms), new Date(ms).toUTCString())
    }),
    fcParams(1000),
  )
})

format.run()
