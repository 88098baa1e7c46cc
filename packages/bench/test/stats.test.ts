import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { best, median, percentile, ratio } from '../src/stats'
import { fcParams } from './_fc'

const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 })

const medianSuite = suite('median')

const medians: ReadonlyArray<readonly [values: number[], expected: number]> = [
  [[5], 5],
  [[3, 1, 2], 2],
  [[4, 1, 3, 2], 2.5],
  [[1, 1, 1, 9], 1],
  [[-2, 2], 0],
]
for (const [values, expected] of medians) {
  medianSuite(`should give ${expected} for [${values.join(', ')}]`, () => {
    assert.is(median(values), expected)
  })
}

medianSuite('should throw a RangeError for an empty list', () => {
  assert.throws(() => median([]), RangeError)
})

medianSuite('should not depend on order and lie between the smallest and largest value', () => {
  fc.assert(
    fc.property(fc.array(finite, { minLength: 1 }), (values) => {
      const m = median(values)
      assert.is(median([...values].reverse()), m)
      assert.ok(m >= Math.min(...values) && m <= Math.max(...values))
    }),
    fcParams(),
  )
})

medianSuite('should leave its input unsorted', () => {
  const values = [3, 1, 2]
  median(values)
  assert.equal(values, [3, 1, 2])
})

medianSuite.run()

const bestSuite = suite('best')

bestSuite('should give the smallest value', () => {
  assert.is(best([3, 1.5, 2]), 1.5)
})

bestSuite('should throw a RangeError for an empty list', () => {
  assert.throws(() => best([]), RangeError)
})

bestSuite('should equal Math.min over any non-empty list', () => {
  fc.assert(
    fc.property(fc.array(finite, { minLength: 1 }), (values) => {
      assert.is(best(values), Math.min(...values))
    }),
    fcParams(),
  )
})

bestSuite.run()

const ratioSuite = suite('ratio')

const ratios: ReadonlyArray<readonly [value: number, baseline: number, expected: number]> = [
  [2, 1, 2],
  [1, 4, 0.25],
  [0, 5, 0],
  [1, 0, Number.NaN],
  [1, -1, Number.NaN],
  [Number.NaN, 1, Number.NaN],
  [Number.POSITIVE_INFINITY, 1, Number.NaN],
  [1, Number.POSITIVE_INFINITY, Number.NaN],
]
for (const [value, baseline, expected] of ratios) {
  ratioSuite(`should give ${expected} for ${value} over ${baseline}`, () => {
    assert.ok(Object.is(ratio(value, baseline), expected))
  })
}

ratioSuite('should give 1 for a value over itself and scale linearly', () => {
  fc.assert(
    fc.property(fc.double({ min: 1e-6, max: 1e9, noNaN: true }), fc.double({ min: 0, max: 1e3, noNaN: true }), (baseline, k) => {
      assert.is(ratio(baseline, baseline), 1)
      const r = ratio(baseline * k, baseline)
      assert.ok(Math.abs(r - k) <= 1e-9 * Math.max(1, k))
    }),
    fcParams(),
  )
})

ratioSuite.run()

const percentileSuite = suite('percentile')

const percentiles: ReadonlyArray<readonly [values: number[], p: number, expected: number]> = [
  [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
  [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99, 10],
  [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9],
  [[10, 1], 0, 1],
  [[10, 1], 100, 10],
  [[7], 99, 7],
  [[0.25, 0.5, 0.125], 50, 0.25],
]
for (const [values, p, expected] of percentiles) {
  percentileSuite(`should give ${expected} as p${p} of [${values.join(', ')}]`, () => {
    assert.is(percentile(values, p), expected)
  })
}

percentileSuite('should throw a RangeError for an empty list or a p outside 0 to 100', () => {
  assert.throws(() => percentile([], 50), RangeError)
  assert.throws(() => percentile([1], -1), RangeError)
  assert.throws(() => percentile([1], 101), RangeError)
  assert.throws(() => percentile([1], Number.NaN), RangeError)
})

percentileSuite('should return a member with at least p percent of the list at or below it, and be monotonic in p', () => {
  fc.assert(
    fc.property(
      fc.array(finite, { minLength: 1, maxLength: 200 }),
      fc.double({ min: 0, max: 100, noNaN: true }),
      fc.double({ min: 0, max: 100, noNaN: true }),
      (values, p, q) => {
        const v = percentile(values, p)
        assert.ok(values.includes(v))
        assert.ok(values.filter((x) => x <= v).length >= (p / 100) * values.length)
        const [lo, hi] = p <= q ? [p, q] : [q, p]
        assert.ok(percentile(values, lo) <= percentile(values, hi))
      },
    ),
    fcParams(),
  )
})

percentileSuite.run()
