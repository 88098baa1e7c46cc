import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { parseSize } from '../src/units'
import { fcParams } from './_fc'

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
