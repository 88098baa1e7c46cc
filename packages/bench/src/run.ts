// Runs the benchmarks (all, or those named on the command line) and rewrites their blocks of
// docs/benchmarks.md. Usage: tsx src/run.ts [decide|cookie|hash|token|memory|http ...] [--quick] [--no-write]
// `reliability` runs the reliability bench instead (reliability.bench.ts), which writes docs/reliability.md:
// tsx src/run.ts reliability [load|soak|pair ...] [--load 60s] [--soak 5m] [--pair 30s] [--clients 200] [--quick] [--no-write]
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseRunArgs } from './cli-args'
import { cookieBench } from './cookie.bench'
import { decideBench } from './decide.bench'
import { updatePage } from './docs-file'
import { hashBench } from './hash.bench'
import { httpBench } from './http.bench'
import { memoryBench } from './memory.bench'
import { runReliability } from './reliability.bench'
import { tokenBench } from './token.bench'
import type { BenchSubject } from './subject'

const SUBJECTS: readonly BenchSubject[] = [decideBench, cookieBench, hashBench, tokenBench, memoryBench, httpBench]
const PAGE = fileURLToPath(new URL('../../../docs/benchmarks.md', import.meta.url))

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`)
  }
  if (args.includes('reliability')) {
    await runReliability(args, { env: process.env, log })
    return
  }
  const names = SUBJECTS.map((s) => s.name)
  const request = parseRunArgs(args, names)
  const blocks = new Map<string, string>()
  for (const subject of SUBJECTS.filter((s) => request.subjects.includes(s.name))) {
    log(`== ${subject.name}${request.quick ? ' (quick)' : ''}`)
    const started = performance.now()
    const block = await subject.run({ quick: request.quick, log })
    blocks.set(subject.name, block)
    log(`\n${block}\n\n(${subject.name}: ${((performance.now() - started) / 1000).toFixed(1)} s)\n`)
  }
  if (!request.write) return
  const page = await readFile(PAGE, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return ''
    throw error
  })
  await writeFile(PAGE, updatePage(page, blocks, names))
  log(`wrote ${blocks.size} block(s) to docs/benchmarks.md`)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exitCode = 1
})
