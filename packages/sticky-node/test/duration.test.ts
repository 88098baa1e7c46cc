import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { formatDuration, parseDuration } from '../src/duration'
import { propertySeed } from './_cli-seed'

const seed = propertySeed('duration.test')

const ParseDuration = suite('parseDuration')

const valid: ReadonlyArray<readonly [string, number]> = [
  ['10s', 10_000],
  ['500ms', 500],
  ['2m', 120_000],
  ['1h', 3_600_000],
  ['1d', 86_400_000],
  ['1h30m', 5_400_000],
  ['1m30s250ms', 90_250],
  ['0s', 0],
  ['0', 0],
  ['10', 10_000],
  ['007s', 7_000],
]
for (const [text, ms] of valid) {
  ParseDuration(`should read ${JSON.stringify(text)} as ${ms} ms`, () => {
    assert.is(parseDuration(text), ms)
  })
}

const invalid: readonly string[] = [
  '', 'abc', 's', '10x', '10 s', ' 10s', '10s ', '-1s', '1.5s', '1s1s', '1s1m', '1ms1s', '10S', '1w', 'Infinity',
  'NaN', '1e3', '0x10', '99999999999999999999d', '1'.repeat(65) + 's',
]
for (const text of invalid) {
  ParseDuration(`should reject ${JSON.stringify(text)}`, () => {
    assert.is(parseDuration(text), undefined)
  })
}

ParseDuration('should never throw and return a non-negative safe integer or undefined', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (text) => {
      const ms = parseDuration(text)
      return ms === undefined || (Number.isSafeInteger(ms) && ms >= 0)
    }),
    { seed },
  )
})

ParseDuration('should add up the parts of a combined duration', () => {
  const part = fc.record({ d: fc.nat(1000), h: fc.nat(1000), m: fc.nat(1000), s: fc.nat(1000), ms: fc.nat(1000) })
  fc.assert(
    fc.property(part, fc.uniqueArray(fc.constantFrom('d', 'h', 'm', 's', 'ms'), { minLength: 1 }), (counts, picked) => {
      const order = ['d', 'h', 'm', 's', 'ms'] as const
      const units = order.filter((u) => picked.includes(u))
      const text = units.map((u) => `${counts[u]}${u}`).join('')
      const factor = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 }
      const expected = units.reduce((sum, u) => sum + counts[u] * factor[u], 0)
      return parseDuration(text) === expected
    }),
    { seed },
  )
})

ParseDuration.run()

const FormatDuration = suite('formatDuration')

const formatted: ReadonlyArray<readonly [number, string]> = [
  [0, '0s'],
  [500, '500ms'],
  [10_000, '10s'],
  [90_000, '1m30s'],
  [3_600_000, '1h'],
  [90_061_001, '1d1h1m1s1ms'],
]
for (const [ms, text] of formatted) {
  FormatDuration(`should write ${ms} ms as ${JSON.stringify(text)}`, () => {
    assert.is(formatDuration(ms), text)
  })
}

for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
  FormatDuration(`should throw a RangeError for ${bad}`, () => {
    assert.throws(() => formatDuration(bad), RangeError)
  })
}

FormatDuration('should round-trip through parseDuration', () => {
  fc.assert(
    fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), (ms) => parseDuration(formatDuration(ms)) === ms),
    { seed },
  )
})

FormatDuration.run()
