#!/usr/bin/env node
// Runs every check of the repository in order: build, typecheck, then each package's uvu suite, and
// prints the coverage of the published packages' sources. It ends with one line
// "N passed, N failed, N skipped (...)" (tests; a failed typecheck, build or coverage report counts as
// one failure; skipped counts what was announced as not run), which is what CI reads.
//
//   node scripts/test.mjs                      everything
//   node scripts/test.mjs --no-coverage        without collecting coverage
//   node scripts/test.mjs sticky-core browser  build, typecheck, and the tests of these packages/ folders only
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { coverageSummary, trimRawCoverage } from './coverage.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pnpm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['pnpm']
const ansi = /\u001b\[[0-9;]*m/g
const coverage = !process.argv.includes('--no-coverage')
const only = process.argv.slice(2).filter((arg) => !arg.startsWith('--'))
const coverageDir = join(root, 'coverage')
const rawCoverageDir = join(coverageDir, 'tmp')

let passed = 0
let failed = 0
const failures = []
// What the suites announced as not run: uvu's skips, suites left out whole ("... NOT RUN: why"), and
// conformance cases an adapter's capabilities leave out ("[suite] left out (no capability): case").
const skipped = { suites: 0, cases: 0, uvu: 0 }
const skips = []

function step(label, args, { cwd = root, env = process.env } = {}) {
  console.log(`\n=== ${label}`)
  const started = process.hrtime.bigint()
  const r = spawnSync(args[0], args.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
  process.stdout.write(r.stdout ?? '')
  process.stderr.write(r.stderr ?? '')
  if (r.error) console.log(`could not run ${args.join(' ')}: ${r.error.message}`)
  console.log(`--- ${label}: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`)
  return r
}

/** Prints the coverage collected over the whole run: one line per package; lcov in coverage/. */
async function reportCoverage() {
  console.log('\n=== coverage')
  const started = process.hrtime.bigint()
  let summary
  try {
    summary = await coverageSummary(root, rawCoverageDir, coverageDir)
  } catch (error) {
    console.log(`no coverage report: ${error?.stack ?? error}`)
    return false
  }
  const metrics = ['statements', 'branches', 'functions', 'lines']
  const byPackage = new Map()
  for (const [file, counts] of Object.entries(summary)) {
    if (file === 'total') continue
    const name = /packages\/([^/]+)\/src\//.exec(file.replaceAll('\\', '/'))?.[1] ?? 'other'
    const sums = byPackage.get(name) ?? Object.fromEntries(metrics.map((m) => [m, { covered: 0, total: 0 }]))
    for (const m of metrics) {
      sums[m].covered += counts[m].covered
      sums[m].total += counts[m].total
    }
    byPackage.set(name, sums)
  }
  if (byPackage.size === 0) {
    console.log('no coverage was recorded')
    return false
  }
  const pct = ({ covered, total }) => (total === 0 ? '100.0' : ((100 * covered) / total).toFixed(1)).padStart(6)
  console.log(`${'coverage of src/'.padEnd(18)}${metrics.map((m) => m.padStart(12)).join('')}`)
  const rows = [...[...byPackage].sort(([a], [b]) => a.localeCompare(b)), ['all', summary.total]]
  for (const [name, sums] of rows) console.log(`${name.padEnd(18)}${metrics.map((m) => `${pct(sums[m])} %    `).join('')}`)
  console.log('per file: coverage/lcov.info')
  console.log(`--- coverage: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s`)
  return true
}

// Build first: each package type-checks against the declarations its workspace dependencies emit.
const pre = [
  ['build', [...pnpm, 'run', 'build']],
  ['typecheck', [...pnpm, 'run', 'typecheck']],
]
let broken = false
for (const [label, args] of pre) {
  const r = step(label, args)
  if (r.status !== 0) {
    failed += 1
    failures.push(label)
    broken = true
    break
  }
}

// Lint and format (Biome) count as one failure, but do not keep the tests from running.
if (!broken) {
  const lint = step('lint', [...pnpm, 'run', 'lint'])
  if (lint.status !== 0) {
    failed += 1
    failures.push('lint (run pnpm format to fix what can be fixed)')
  }
}

if (!broken) {
  if (coverage) {
    rmSync(coverageDir, { recursive: true, force: true })
    mkdirSync(rawCoverageDir, { recursive: true })
  }
  const env = coverage ? { ...process.env, NODE_V8_COVERAGE: rawCoverageDir } : process.env
  const packagesDir = join(root, 'packages')
  for (const name of readdirSync(packagesDir).sort()) {
    if (only.length > 0 && !only.includes(name)) continue
    const dir = join(packagesDir, name)
    const testDir = join(dir, 'test')
    if (!existsSync(join(dir, 'package.json')) || !existsSync(testDir)) continue
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    if (!pkg.scripts?.test) continue
    if (!readdirSync(testDir).some((f) => f.endsWith('.test.ts'))) continue
    const r = step(`test ${pkg.name}`, [...pnpm, 'run', 'test'], { cwd: dir, env })
    if (coverage) trimRawCoverage(rawCoverageDir)
    const out = (r.stdout ?? '').replace(ansi, '')
    const notRun = out.match(/^.* NOT RUN: .*$/gm) ?? []
    const leftOut = out.match(/^\[[^\]\n]+\] left out \(.*$/gm) ?? []
    skipped.suites += notRun.length
    skipped.cases += leftOut.length
    if (notRun.length > 0) skips.push(`${pkg.name}: ${notRun.map((line) => line.replace(/: .*/, '')).join(', ')}`)
    if (leftOut.length > 0) skips.push(`${pkg.name}: ${leftOut.length} case(s) left out`)
    const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN)
    const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN)
    const uvuSkipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0)
    if (Number.isNaN(total) || Number.isNaN(ok)) {
      // The runner died before its summary (a crash in a test file): count the package as one failure.
      failed += 1
      failures.push(`${pkg.name} (no summary, exit ${r.status})`)
      continue
    }
    passed += ok
    skipped.uvu += uvuSkipped
    if (uvuSkipped > 0) skips.push(`${pkg.name}: ${uvuSkipped} uvu skip(s)`)
    // uvu's Total leaves skipped cases out already.
    const bad = total - ok
    failed += bad
    if (bad > 0 || r.status !== 0) failures.push(`${pkg.name} (${bad} failed, exit ${r.status})`)
    if (bad === 0 && r.status !== 0) failed += 1
  }
  if (coverage && !(await reportCoverage())) {
    failed += 1
    failures.push('coverage (no report)')
  }
}

console.log('')
if (skips.length) console.log(`skipped: ${skips.join('; ')}`)
if (failures.length) console.log(`failures: ${failures.join('; ')}`)
const skippedTotal = skipped.suites + skipped.cases + skipped.uvu
const parts = [
  [skipped.suites, 'suite(s) not run'],
  [skipped.cases, 'case(s) left out'],
  [skipped.uvu, 'uvu skip(s)'],
]
  .filter(([n]) => n > 0)
  .map(([n, what]) => `${n} ${what}`)
console.log(`${passed} passed, ${failed} failed, ${skippedTotal} skipped${parts.length ? ` (${parts.join(', ')})` : ''}`)
process.exit(failed === 0 ? 0 : 1)
