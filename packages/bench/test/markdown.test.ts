import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { renderTable, type Column } from '../src/markdown'
import { fcParams } from './_fc'

const table = suite('renderTable')

const columns: readonly Column[] = [
  { header: 'case', align: 'left' },
  { header: 'time', align: 'right' },
]

table('should render a header, an alignment rule and one line per row', () => {
  assert.is(
    renderTable(columns, [
      ['hit', '1 ns'],
      ['new', '2 ns'],
    ]),
    '| case | time |\n| --- | ---: |\n| hit | 1 ns |\n| new | 2 ns |',
  )
})

const escapes: ReadonlyArray<readonly [cell: string, rendered: string]> = [
  ['a|b', 'a\\|b'],
  ['two\nlines', 'two lines'],
  ['crlf\r\nend', 'crlf end'],
  ['`code`', '`code`'],
  ['back\\slash', 'back\\slash'],
]
for (const [cell, rendered] of escapes) {
  table(`should render the cell ${JSON.stringify(cell)} as ${JSON.stringify(rendered)}`, () => {
    assert.is(renderTable([{ header: 'h', align: 'left' }], [[cell]]).split('\n')[2], `| ${rendered} |`)
  })
}

table('should pad a short row with empty cells', () => {
  assert.is(renderTable(columns, [['only']]).split('\n')[2], '| only |  |')
})

table('should throw a RangeError for a row longer than the header', () => {
  assert.throws(() => renderTable(columns, [['a', 'b', 'c']]), RangeError)
})

/** Splits a rendered line into cells on the pipes that are not escaped. */
function cells(line: string): string[] {
  return line
    .slice(2, -2)
    .split(/(?<!\\)\| /)
    .map((c) => c.replace(/ $/, '').replace(/\\\|/g, '|'))
}

table('should keep every row one line of exactly as many cells as columns, each cell read back intact', () => {
  const cell = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '|', '-', '×', '`'), maxLength: 12 }).map((s) => s.trim())
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.array(cell, { minLength: n, maxLength: n }), { maxLength: 6 }))),
      ([n, rows]) => {
        const cols: Column[] = Array.from({ length: n }, (_, i) => ({ header: `c${i}`, align: i % 2 === 0 ? 'left' : 'right' }))
        const lines = renderTable(cols, rows).split('\n')
        assert.is(lines.length, rows.length + 2)
        rows.forEach((row, i) => assert.equal(cells(lines[i + 2]!), row))
      },
    ),
    fcParams(),
  )
})

table.run()
