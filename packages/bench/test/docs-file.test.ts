import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { GENERATED_BEGIN, GENERATED_END, readBlocks, updatePage } from '../src/docs-file'
import { fcParams } from './_fc'

const INTRO = '# Benchmarks\n\nHow to read these numbers.\n'
const OUTRO = '\n## Notes written by hand\n\nKept as is.\n'

const name = fc.constantFrom('decide', 'cookie', 'hash', 'memory', 'http', 'extra-1')
const body = fc
  .array(fc.constantFrom('### t', '| a | b |', 'text', '', 'x <!-- note -->', '`code`'), { maxLength: 5 })
  .map((lines) => lines.join('\n').replace(/\n+$/, ''))
const text = fc.string({ unit: fc.constantFrom('a', ' ', '\n', '#', '-', '<', '>', '!'), maxLength: 30 }).filter((s) => !s.includes('<!-- bench:'))

const read = suite('readBlocks')

read('should find nothing in a page without a generated region', () => {
  assert.equal([...readBlocks(INTRO)], [])
  assert.equal([...readBlocks('<!-- bench:decide:begin -->\nx\n<!-- bench:decide:end -->')], [])
})

read('should read the blocks of a region in page order', () => {
  const page = `${INTRO}${GENERATED_BEGIN}\n<!-- bench:http:begin -->\nH\n<!-- bench:http:end -->\n\n<!-- bench:decide:begin -->\nD1\n\nD2\n<!-- bench:decide:end -->\n${GENERATED_END}${OUTRO}`
  assert.equal(
    [...readBlocks(page)],
    [
      ['http', 'H'],
      ['decide', 'D1\n\nD2'],
    ],
  )
})

read('should ignore a block whose end marker names another subject', () => {
  const page = `${GENERATED_BEGIN}\n<!-- bench:http:begin -->\nH\n<!-- bench:hash:end -->\n${GENERATED_END}`
  assert.equal([...readBlocks(page)], [])
})

read.run()

const update = suite('updatePage')

update('should append a region to a page that has none', () => {
  const page = updatePage(INTRO, new Map([['decide', 'D']]), ['decide'])
  assert.is(page, `${INTRO}\n${GENERATED_BEGIN}\n<!-- bench:decide:begin -->\nD\n<!-- bench:decide:end -->\n${GENERATED_END}\n`)
})

update('should create a page from nothing', () => {
  assert.is(readBlocks(updatePage('', new Map([['hash', 'H']]), [])).get('hash'), 'H')
})

update('should order blocks as told, then unknown subjects in page order', () => {
  let page = updatePage(
    INTRO,
    new Map([
      ['zeta', 'Z'],
      ['http', 'H'],
    ]),
    [],
  )
  page = updatePage(page, new Map([['decide', 'D']]), ['decide', 'http'])
  assert.equal([...readBlocks(page).keys()], ['decide', 'http', 'zeta'])
})

const invalid: ReadonlyArray<readonly [label: string, updates: Map<string, string>]> = [
  ['an upper-case name', new Map([['Decide', 'x']])],
  ['a name with a space', new Map([['de cide', 'x']])],
  ['an empty name', new Map([['', 'x']])],
  ['a body holding a marker', new Map([['decide', 'x <!-- bench:end --> y']])],
]
for (const [label, updates] of invalid) {
  update(`should throw a RangeError for ${label}`, () => {
    assert.throws(() => updatePage(INTRO, updates, []), RangeError)
  })
}

update('should keep text outside the region byte for byte, and give back the blocks it was given', () => {
  fc.assert(
    fc.property(text, text, fc.dictionary(name, body), fc.dictionary(name, body), (before, after, first, second) => {
      const initial = updatePage(`${before}${GENERATED_BEGIN}\n${GENERATED_END}${after}`, new Map(Object.entries(first)), [])
      const page = updatePage(initial, new Map(Object.entries(second)), ['http', 'decide'])
      assert.ok(page.startsWith(`${before}${GENERATED_BEGIN}`))
      assert.ok(page.endsWith(`${GENERATED_END}${after}`))
      assert.equal(Object.fromEntries(readBlocks(page)), { ...first, ...second })
    }),
    fcParams(),
  )
})

update('should be idempotent: the same update twice gives the same page', () => {
  fc.assert(
    fc.property(text, fc.dictionary(name, body), (page, blocks) => {
      const updates = new Map(Object.entries(blocks))
      const once = updatePage(page, updates, ['decide', 'cookie'])
      assert.is(updatePage(once, updates, ['decide', 'cookie']), once)
      assert.is(updatePage(once, new Map(), ['decide', 'cookie']), once)
    }),
    fcParams(),
  )
})

update.run()
