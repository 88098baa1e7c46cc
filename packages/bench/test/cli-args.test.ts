import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { parseRunArgs } from '../src/cli-args'
import { fcParams } from './_fc'

const KNOWN = ['decide', 'cookie', 'hash', 'memory', 'http']

const args = suite('parseRunArgs')

const cases: ReadonlyArray<readonly [argv: string[], subjects: string[], quick: boolean, write: boolean]> = [
  [[], KNOWN, false, true],
  [['--'], KNOWN, false, true],
  [['--', 'decide'], ['decide'], false, true],
  [['http', 'decide'], ['decide', 'http'], false, true],
  [['hash', 'hash'], ['hash'], false, true],
  [['--quick'], KNOWN, true, false],
  [['--no-write', 'memory'], ['memory'], false, false],
]
for (const [argv, subjects, quick, write] of cases) {
  args(`should read ${JSON.stringify(argv)}`, () => {
    assert.equal(parseRunArgs(argv, KNOWN), { subjects, quick, write })
  })
}

for (const bad of ['decid', '--fast', 'HTTP', '']) {
  args(`should throw a RangeError naming ${JSON.stringify(bad)}`, () => {
    assert.throws(
      () => parseRunArgs([bad], KNOWN),
      (error: unknown) => error instanceof RangeError && error.message.includes(JSON.stringify(bad)),
    )
  })
}

args('should run the named subjects in the known order, or all of them when none is named', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...KNOWN, '--', '--no-write')), (argv) => {
      const { subjects } = parseRunArgs(argv, KNOWN)
      const named = KNOWN.filter((k) => argv.includes(k))
      assert.equal(subjects, named.length === 0 ? KNOWN : named)
    }),
    fcParams(),
  )
})

args.run()
