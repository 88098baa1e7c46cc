// Runs the benchmarks (all, or those named on the command line) and rewrites their blocks of
// docs/benchmarks.md. Usage: tsx src/run.ts [decide|cookie|hash|token|memory|http ...] [--quick] [--no-write]
// `reliability` runs the reliability bench instead (reliability.bench.ts), which writes docs/reliability.md:
// tsx src/run.ts reliability [load|soak|pair ...] [--load 60s] [--soak 5m] [--pair 30s] [--clients 200] [--quick] [--no-write]
// `proxies` runs the proxy comparison (proxies.bench.ts) alone, which writes its block and docs/benchmarks-proxies.svg:
// tsx src/run.ts proxies [--workers 1|2] [--only bare,sticky-node] [--no-install] [--quick] [--no-write]
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseRunArgs } from './cli-args'
import { cookieBench } from './cookie.bench'
import { decideBench } from './decide.bench'
import { updatePage } from './docs-file'
import { hashBench } from './hash.bench'
import { httpBench } from './http.bench'
import { memoryBench } from './memory.bench'
import { parseProxiesArgs, runProxiesBench } from './proxies.bench'
import { runReliability } from './reliability.bench'
import { tokenBench } from './token.bench'
import type { BenchSubject } from './subject'

const SUBJECTS: readonly BenchSubject[] = [decideBench, cookieBench, hashBench, tokenBench, memoryBench, httpBench]
const PAGE = fileURLToPath(new URL('../../../docs/benchmarks.md', import.meta.url))
const PROXIES_CHART = fileURLToPath(new URL('../../../docs/benchmarks-proxies.svg', import.meta.url))

async function readPage(): Promise<string> {
  return readFile(PAGE, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return ''
    throw error
  })
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const log = (line: string): void => {
    process.stdout.write(`${line}\n`)
  }
  if (args.includes('reliability')) {
    await runReliability(args, { env: process.env, log })
    return
  }
  const names = [...SUBJECTS.map((s) => s.name), 'proxies']
  if (args.includes('proxies')) {
    const request = parseProxiesArgs(args)
    const outcome = await runProxiesBench(request, log)
    if ('skipped' in outcome) {
      log(outcome.skipped)
      return
    }
    log(`\n${outcome.block}\n`)
    if (!request.write) return
    await writeFile(PAGE, updatePage(await readPage(), new Map([['proxies', outcome.block]]), names))
    await writeFile(PROXIES_CHART, outcome.svg)
    log('wrote the proxies block to docs/benchmarks.md and its chart to docs/benchmarks-proxies.svg')
    return
  }
  const request = parseRunArgs(
    args,
    SUBJECTS.map((s) => s.name),
  )
  const blocks = new Map<string, string>()
  for (const subject of SUBJECTS.filter((s) => request.subjects.includes(s.name))) {
    log(`== ${subject.name}${request.quick ? ' (quick)' : ''}`)
    const started = performance.now()
    const block = await subject.run({ quick: request.quick, log })
    blocks.set(subject.name, block)
    log(`\n${block}\n\n(${subject.name}: ${((performance.now() - started) / 1000).toFixed(1)} s)\n`)
  }
  if (!request.write) return
  await writeFile(PAGE, updatePage(await readPage(), blocks, names))
  log(`wrote ${blocks.size} block(s) to docs/benchmarks.md`)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exitCode = 1
})
