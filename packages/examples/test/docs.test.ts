import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { codeBlocks, documents, isRunnable, promisedOutput, type CodeBlock } from './_blocks'

const packageDir = join(__dirname, '..')
const generated = join(packageDir, 'generated')

const blocks: CodeBlock[] = documents().flatMap(codeBlocks)

rmSync(generated, { recursive: true, force: true })
mkdirSync(generated, { recursive: true })
for (const block of blocks) {
  // `export {}` makes every block its own module, so two blocks may declare the same names.
  writeFileSync(join(generated, block.fileName), `${block.code}\nexport {}\n`)
}

function typeErrors(): Map<string, string[]> {
  const tsc = require.resolve('typescript/bin/tsc')
  const run = spawnSync(process.execPath, [tsc, '-p', 'blocks.tsconfig.json', '--noEmit', '--pretty', 'false'], {
    cwd: packageDir,
    encoding: 'utf8',
  })
  const errors = new Map<string, string[]>()
  for (const line of `${run.stdout}\n${run.stderr}`.split('\n')) {
    const match = /generated\/([^(]+)\(/.exec(line)
    if (!match) continue
    const list = errors.get(match[1]!) ?? []
    list.push(line)
    errors.set(match[1]!, list)
  }
  if (run.status !== 0 && errors.size === 0) errors.set('*', [`tsc exited ${run.status}: ${run.stdout}${run.stderr}`])
  return errors
}

const checks = suite('documentation code blocks')
let errors: Map<string, string[]> = new Map()

checks.before(() => {
  errors = typeErrors()
})

checks('should find the examples of README.md and every package README', () => {
  const documentsWithBlocks = new Set(blocks.map((b) => b.where.split(':')[0]))
  for (const doc of ['README.md', 'docs/getting-started.md', 'packages/sticky-core/README.md', 'packages/sticky-node/README.md']) {
    assert.ok(documentsWithBlocks.has(doc), `${doc} has no checked TypeScript block`)
  }
  assert.not.ok(errors.has('*'), errors.get('*')?.join('\n'))
})

for (const block of blocks) {
  checks(`should type-check ${block.where}`, () => {
    const found = errors.get(block.fileName)
    assert.not.ok(found, found?.join('\n'))
  })
  if (!isRunnable(block)) continue
  checks(`should run ${block.where} and print what its comments say`, () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(generated, block.fileName)], {
      cwd: packageDir,
      encoding: 'utf8',
    })
    assert.is(run.status, 0, run.stderr)
    const printed = run.stdout.split('\n').filter((line) => line !== '')
    const promised = promisedOutput(block)
    assert.is(printed.length, promised.length, `printed:\n${run.stdout}`)
    promised.forEach((text, i) => {
      // A promise ending in "..." only fixes the start of the line.
      if (text.endsWith('...')) assert.ok(printed[i]!.startsWith(text.slice(0, -3)), `${printed[i]} vs ${text}`)
      else assert.is(printed[i], text)
    })
  })
}

checks.run()
