import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { durationIn, formatDuration, parseDuration } from '../src/duration'
import { StickyConfigError } from '../src/errors'
import { fcParams } from './_fc'

const FACTOR = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const
const ORDER = ['d', 'h', 'm', 's', 'ms'] as const

/** The error `parseDuration` threw, or `undefined`: a rejected duration must name the option and the text. */
function rejection(text: unknown, option = 'peers[0].failTimeout'): StickyConfigError | undefined {
  try {
    parseDuration(text as string, option)
    return undefined
  } catch (error) {
    assert.instance(error, StickyConfigError)
    const e = error as StickyConfigError
    assert.is(e.option, option)
    assert.is(e.value, text)
    return e
  }
}

/** An independent model of the notation: one anchored pattern, digits of any length. */
const MODEL = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/

function modelDuration(text: string): number | undefined {
  if (text === '' || text.length > 64) return undefined
  if (/^\d+$/.test(text)) return Number.isSafeInteger(Number(text) * 1000) ? Number(text) * 1000 : undefined
  const parts = MODEL.exec(text)
  if (parts === null) return undefined
  const total = ORDER.reduce((sum, unit, i) => sum + Number(parts[i + 1] ?? 0) * FACTOR[unit], 0)
  return Number.isSafeInteger(total) ? total : undefined
}

// ----------------------------------------------------------------------------------------------
const Parse = suite('parseDuration')

const valid: ReadonlyArray<readonly [string, number]> = [
  ['10', 10_000],
  ['0', 0],
  ['0s', 0],
  ['007s', 7_000],
  ['10s', 10_000],
  ['500ms', 500],
  ['2m', 120_000],
  ['1h', 3_600_000],
  ['1d', 86_400_000],
  ['1h30m', 5_400_000],
  ['1m30s250ms', 90_250],
  ['1d1h1m1s1ms', 90_061_001],
  ['9007199254740991ms', Number.MAX_SAFE_INTEGER],
]
for (const [text, ms] of valid) {
  Parse(`should read ${JSON.stringify(text)} as ${ms} ms`, () => {
    assert.is(parseDuration(text, 'proxy.timeout'), ms)
  })
}

const invalid: readonly string[] = [
  '',
  'abc',
  's',
  'ms',
  '10x',
  '10 s',
  ' 10s',
  '10s ',
  '-1s',
  '+1s',
  '1.5s',
  '1s1s',
  '30s1m',
  '1s1m',
  '1ms1s',
  '10S',
  '1w',
  '1M',
  '1y',
  'Infinity',
  'NaN',
  '1e3',
  '0x10',
  '1h 30m',
  '99999999999999999999d',
  '9007199254740992ms',
  '9007199254740992',
  `${'1'.repeat(65)}s`,
  '1'.repeat(64),
]
for (const text of invalid) {
  Parse(`should reject ${JSON.stringify(text)} naming the option and the text`, () => {
    const error = rejection(text)
    assert.ok(error, `${JSON.stringify(text)} was accepted`)
    assert.match(error.message, 'peers[0].failTimeout')
    assert.match(error.message, 'duration')
  })
}

for (const value of [10, null, undefined, {}, ['10s']]) {
  Parse(`should reject a ${value === null ? 'null' : typeof value} given where text belongs`, () => {
    assert.ok(rejection(value), 'accepted')
  })
}

Parse('should add up the parts of a duration written largest unit first (property)', () => {
  const counts = fc.record({ d: fc.nat(1000), h: fc.nat(1000), m: fc.nat(1000), s: fc.nat(1000), ms: fc.nat(1000) })
  const picked = fc.uniqueArray(fc.constantFrom(...ORDER), { minLength: 1 })
  fc.assert(
    fc.property(counts, picked, (count, units) => {
      const used = ORDER.filter((unit) => units.includes(unit))
      const text = used.map((unit) => `${count[unit]}${unit}`).join('')
      const expected = used.reduce((sum, unit) => sum + count[unit] * FACTOR[unit], 0)
      assert.is(parseDuration(text, 'x'), expected, text)
    }),
    fcParams(),
  )
})

Parse('should read every bare number of seconds as that many thousand milliseconds (property)', () => {
  fc.assert(
    fc.property(fc.nat({ max: Math.floor(Number.MAX_SAFE_INTEGER / 1000) }), (seconds) => {
      assert.is(parseDuration(String(seconds), 'x'), seconds * 1000)
    }),
    fcParams(),
  )
})

Parse('should agree with an independent model of the notation, and throw only StickyConfigError (property)', () => {
  const unit = fc.constantFrom('d', 'h', 'm', 's', 'ms', 'M', 'w', ' ', '.', '-', '')
  const piece = fc.tuple(fc.oneof(fc.nat(200).map(String), fc.stringMatching(/^\d{0,20}$/)), unit).map(([n, u]) => n + u)
  const text = fc.oneof(
    fc.array(piece, { maxLength: 6 }).map((p) => p.join('')),
    fc.string({ maxLength: 70 }),
  )
  fc.assert(
    fc.property(text, (t) => {
      const expected = modelDuration(t)
      if (expected === undefined) assert.ok(rejection(t, 'x'), `${JSON.stringify(t)} was accepted`)
      else assert.is(parseDuration(t, 'x'), expected, t)
    }),
    fcParams(),
  )
})
Parse.run()

// ----------------------------------------------------------------------------------------------
const Format = suite('formatDuration')

const formatted: ReadonlyArray<readonly [number, string]> = [
  [0, '0s'],
  [1, '1ms'],
  [500, '500ms'],
  [1_500, '1s500ms'],
  [10_000, '10s'],
  [90_000, '1m30s'],
  [3_600_000, '1h'],
  [86_400_000, '1d'],
  [90_061_001, '1d1h1m1s1ms'],
]
for (const [ms, text] of formatted) {
  Format(`should write ${ms} ms as ${JSON.stringify(text)}`, () => {
    assert.is(formatDuration(ms), text)
  })
}

for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
  Format(`should throw a RangeError for ${bad}`, () => {
    assert.throws(
      () => formatDuration(bad),
      (error: unknown) => error instanceof RangeError,
    )
  })
}

Format('should round-trip through parseDuration (property)', () => {
  fc.assert(
    fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), (ms) => {
      assert.is(parseDuration(formatDuration(ms), 'x'), ms)
    }),
    fcParams(),
  )
})

Format('should write each unit at most once, largest first, and no zero parts (property)', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: Number.MAX_SAFE_INTEGER }).filter((ms) => ms > 0),
      (ms) => {
        const units = [...formatDuration(ms).matchAll(/(\d+)(ms|d|h|m|s)/g)]
        assert.ok(units.length > 0)
        const ranks = units.map((match) => ORDER.indexOf(match[2] as (typeof ORDER)[number]))
        assert.equal(
          ranks,
          [...ranks].sort((a, b) => a - b),
        )
        assert.is(new Set(ranks).size, ranks.length)
        for (const match of units) assert.not.equal(Number(match[1]), 0)
      },
    ),
    fcParams(),
  )
})
Format.run()

// ----------------------------------------------------------------------------------------------
const In = suite('durationIn')

In('should take a number as already in the unit, and text with units in any unit', () => {
  assert.is(durationIn(1500, 'ms'), 1500)
  assert.is(durationIn(3600, 's'), 3600)
  assert.is(durationIn('1h', 's'), 3600)
  assert.is(durationIn('1h', 'ms'), 3_600_000)
  assert.is(durationIn('1s500ms', 'ms'), 1500)
})

In('should refuse unit-less text, fractions of the unit, and what is not a duration', () => {
  for (const value of ['30', '', '1.5s', '1s500ms', 'max', '1 h', null, true, {}, Number.NaN, Infinity]) {
    assert.is(durationIn(value, 's'), undefined, String(value))
  }
})

In('should read the text formatDuration writes as the same duration, in ms and in whole seconds (property)', () => {
  fc.assert(
    fc.property(fc.nat({ max: 2 ** 40 }), (ms) => {
      const text = formatDuration(ms)
      assert.is(durationIn(text, 'ms'), ms)
      assert.is(durationIn(text, 's'), ms % 1000 === 0 ? ms / 1000 : undefined)
    }),
    fcParams(),
  )
})

In.run()
