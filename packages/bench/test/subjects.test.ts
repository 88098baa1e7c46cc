// Each micro benchmark subject, run end to end with tiny budgets: its fixtures must still produce the
// outcomes its rows claim (the subject throws otherwise), and its block must carry every row.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { cookieBench } from '../src/cookie.bench'
import { decideBench } from '../src/decide.bench'
import { hashBench } from '../src/hash.bench'
import { tokenBench } from '../src/token.bench'
import type { BenchSubject } from '../src/subject'

const quiet = { quick: true, log: (): void => undefined }

/** The data rows of the first table in a block. */
function tableRows(block: string): string[][] {
  const lines = block.split('\n')
  const start = lines.findIndex((l) => l.startsWith('| '))
  const rows: string[][] = []
  for (let i = start + 2; i < lines.length && lines[i]!.startsWith('| '); i++) {
    rows.push(lines[i]!.slice(2, -2).split(' | '))
  }
  return rows
}

const expectations: ReadonlyArray<readonly [subject: BenchSubject, rows: number, baselineColumn: number | undefined]> = [
  [decideBench, 12, 3],
  [cookieBench, 8, undefined],
  [hashBench, 5, undefined],
  [tokenBench, 6, 2],
]

for (const [subject, rowCount, baselineColumn] of expectations) {
  const test = suite(`${subject.name}Bench.run`)

  test('should render a block with its heading, the machine and one row per case', async () => {
    const block = await subject.run(quiet)
    assert.ok(block.startsWith(`### ${subject.name}\n\nMeasured `), block.slice(0, 80))
    assert.match(block, new RegExp(`\\d+ cores .*Node ${process.version.replace(/\./g, '\\.')}`))
    const rows = tableRows(block)
    assert.is(rows.length, rowCount)
    for (const row of rows) {
      assert.ok(
        row.every((cell) => cell !== 'n/a'),
        row.join(' | '),
      )
      assert.match(row[row.length - 1]!, /^\d+(\.\d+)?(e-\d+)?×$/)
    }
    if (baselineColumn !== undefined) assert.is(rows[0]![baselineColumn], '1.00×')
  })

  test.run()
}
