import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { parseDuration, parseSize } from '../src/units'
import { fcParams } from './_fc'

const duration = suite('parseDuration')

const durations: ReadonlyArray<[string, number | undefined]> = [
  ['10', 10_000],
  ['0', 0],
  ['10s', 10_000],
  ['500ms', 500],
  ['2m', 120_000],
  ['1h', 3_600_000],
  ['1d', 86_400_000],
  ['1h30m', 5_400_000],
  ['1m30s250ms', 90_250],
  ['', undefined],
  ['s', undefined],
  ['10x', undefined],
  ['30s1m', undefined],
  ['1s1s', undefined],
  ['-1s', undefined],
  ['1.5s', undefined],
  [' 10s', undefined],
]
for (const [text, expected] of durations) {
  duration(`should read ${JSON.stringify(text)} as ${String(expected)}`, () => {
    assert.is(parseDuration(text), expected)
  })
}

const parts = fc.record(
  { d: fc.nat(99), h: fc.nat(99), m: fc.nat(99), s: fc.nat(99), ms: fc.nat(999) },
  { requiredKeys: [] },
)

duration('should add up every unit written largest first', () => {
  fc.assert(
    fc.property(parts, (p) => {
      const text = (['d', 'h', 'm', 's', 'ms'] as const)
        .filter((unit) => p[unit] !== undefined)
        .map((unit) => `${p[unit]}${unit}`)
        .join('')
      const expected = (p.d ?? 0) * 86_400_000 + (p.h ?? 0) * 3_600_000 + (p.m ?? 0) * 60_000 + (p.s ?? 0) * 1000 + (p.ms ?? 0)
      assert.is(parseDuration(text), text === '' ? undefined : expected)
    }),
    fcParams(),
  )
})

duration('should never throw and return a non-negative integer or undefined', () => {
  fc.assert(
    fc.property(fc.string(), (text) => {
      const ms = parseDuration(text)
      return ms === undefined || (Number.isSafeInteger(ms) && ms >= 0)
    }),
    fcParams(),
  )
})
duration.run()

const size = suite('parseSize')

const sizes: ReadonlyArray<[string, number | undefined]> = [
  ['0', 0],
  ['65536', 65_536],
  ['64k', 65_536],
  ['64K', 65_536],
  ['1m', 1_048_576],
  ['1g', undefined],
  ['k', undefined],
  ['', undefined],
  ['-1', undefined],
]
for (const [text, expected] of sizes) {
  size(`should read ${JSON.stringify(text)} as ${String(expected)}`, () => {
    assert.is(parseSize(text), expected)
  })
}

size('should read every bare byte count as itself', () => {
  fc.assert(fc.property(fc.nat(), (n) => parseSize(String(n)) === n), fcParams())
})

size('should never throw', () => {
  fc.assert(
    fc.property(fc.string(), (text) => {
      const bytes = parseSize(text)
      return bytes === undefined || (Number.isSafeInteger(bytes) && bytes >= 0)
    }),
    fcParams(),
  )
})
size.run()
