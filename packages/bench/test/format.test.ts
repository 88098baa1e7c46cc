import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { formatBytes, formatCount, formatDuration, formatPlural, formatRatio } from '../src/format'
import { fcParams } from './_fc'

const notFinite = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]
const anyDouble = fc.double()

const ratioSuite = suite('formatRatio')

const ratios: ReadonlyArray<readonly [number, string]> = [
  [1, '1.00×'],
  [1.234, '1.23×'],
  [0.5, '0.50×'],
  [0, '0.00×'],
  [0.055, '0.055×'],
  [0.00012, '0.00012×'],
  [38712.57, '38712.57×'],
]
for (const [value, expected] of ratios) {
  ratioSuite(`should print ${value} as ${expected}`, () => {
    assert.is(formatRatio(value), expected)
  })
}

ratioSuite('should print n/a for what is not a finite number', () => {
  for (const value of notFinite) assert.is(formatRatio(value), 'n/a')
})

ratioSuite('should end every finite ratio with × and read back within rounding', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), (value) => {
      const text = formatRatio(value)
      assert.ok(text.endsWith('×'))
      const back = Number(text.slice(0, -1))
      assert.ok(Math.abs(back - value) <= Math.max(0.005, value * 0.05), `${value} → ${text}`)
    }),
    fcParams(),
  )
})

ratioSuite.run()

const durationSuite = suite('formatDuration')

const durations: ReadonlyArray<readonly [number, string]> = [
  [0, '0.00 ns'],
  [5.678, '5.68 ns'],
  [162.64, '162.6 ns'],
  [1_500, '1.50 µs'],
  [6_300_000, '6.30 ms'],
  [2_500_000_000, '2.50 s'],
  [-1e30, '-1.00e+21 s'],
]
for (const [ns, expected] of durations) {
  durationSuite(`should print ${ns} ns as ${expected}`, () => {
    assert.is(formatDuration(ns), expected)
  })
}

durationSuite('should print n/a for what is not a finite number', () => {
  for (const value of notFinite) assert.is(formatDuration(value), 'n/a')
})

durationSuite('should never throw and always name a unit', () => {
  fc.assert(
    fc.property(anyDouble, (ns) => {
      assert.match(formatDuration(ns), /^(n\/a|-?\d+\.\d+ (ns|µs|ms|s)|-?\d\.\d\de\+\d+ s)$/)
    }),
    fcParams(),
  )
})

durationSuite.run()

const bytesSuite = suite('formatBytes')

const bytes: ReadonlyArray<readonly [number, boolean, string]> = [
  [0, false, '0 B'],
  [48, false, '48 B'],
  [0.4, false, '0.4 B'],
  [1536, false, '1.5 KiB'],
  [100 * 2 ** 20, false, '100.0 MiB'],
  [2 ** 20, true, '+1.0 MiB'],
  [-2048, true, '-2.0 KiB'],
  [0, true, '0 B'],
]
for (const [value, signed, expected] of bytes) {
  bytesSuite(`should print ${value}${signed ? ' (signed)' : ''} as ${expected}`, () => {
    assert.is(formatBytes(value, signed), expected)
  })
}

bytesSuite('should print n/a for what is not a finite number', () => {
  for (const value of notFinite) assert.is(formatBytes(value), 'n/a')
})

bytesSuite('should sign only positive values when signed, and read back within a unit step', () => {
  fc.assert(
    fc.property(fc.double({ min: -1e12, max: 1e12, noNaN: true }), fc.boolean(), (value, signed) => {
      const text = formatBytes(value, signed)
      const match = /^([+-]?\d+(?:\.\d)?) (B|KiB|MiB)$/.exec(text)
      assert.ok(match !== null, text)
      assert.is(text.startsWith('+'), signed && value > 0)
      const unit = { B: 1, KiB: 1024, MiB: 2 ** 20 }[match[2] as 'B' | 'KiB' | 'MiB']
      assert.ok(Math.abs(Number(match[1]) * unit - value) <= unit * 0.05 + 1e-9, `${value} → ${text}`)
    }),
    fcParams(),
  )
})

bytesSuite.run()

const countSuite = suite('formatCount')

const counts: ReadonlyArray<readonly [number, string]> = [
  [0, '0'],
  [999, '999'],
  [1000, '1 000'],
  [10_000, '10 000'],
  [52156.6, '52 157'],
  [-1234567, '-1 234 567'],
]
for (const [value, expected] of counts) {
  countSuite(`should print ${value} as ${expected}`, () => {
    assert.is(formatCount(value), expected)
  })
}

countSuite('should print n/a for what is not a finite number', () => {
  for (const value of notFinite) assert.is(formatCount(value), 'n/a')
})

countSuite('should read back as the rounded integer once the separators are removed', () => {
  fc.assert(
    fc.property(fc.integer({ min: -1e15, max: 1e15 }), (value) => {
      const text = formatCount(value)
      assert.is(Number(text.replace(/ /g, '')), value)
      assert.ok(
        text
          .split(' ')
          .slice(1)
          .every((group) => /^\d{3}$/.test(group)),
        text,
      )
    }),
    fcParams(),
  )
})

countSuite.run()

const pluralSuite = suite('formatPlural')

const plurals: ReadonlyArray<readonly [number, string]> = [
  [0, '0 rounds'],
  [1, '1 round'],
  [2, '2 rounds'],
  [1.5, '1.5 rounds'],
]
for (const [count, expected] of plurals) {
  pluralSuite(`should print ${count} round(s) as ${expected}`, () => {
    assert.is(formatPlural(count, 'round'), expected)
  })
}

pluralSuite.run()
