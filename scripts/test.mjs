#!/usr/bin/env node
// Runs every check of the repository in order: build, typecheck, then each package's uvu suite.
// It ends with one line "N passed, N failed" (tests; a failed typecheck or build counts as one failure),
// which is what CI reads.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pnpm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['pnpm']
const ansi = /\u001b\[[0-9;]*m/g

let passed = 0
let failed = 0
let skippedAll = 0
const failures = []

function step(label, args, cwd = root) {
  console.log(`\n=== ${label}`)
  const r = spawnSync(args[0], args.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })
  process.stdout.write(r.stdout ?? '')
  process.stderr.write(r.stderr ?? '')
  return r
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

if (!broken) {
  const packagesDir = join(root, 'packages')
  for (const name of readdirSync(packagesDir).sort()) {
    const dir = join(packagesDir, name)
    const testDir = join(dir, 'test')
    if (!existsSync(join(dir, 'package.json')) || !existsSync(testDir)) continue
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    if (!pkg.scripts?.test) continue
    if (!readdirSync(testDir).some((f) => f.endsWith('.test.ts'))) continue
    const r = step(`test ${pkg.name}`, [...pnpm, 'run', 'test'], dir)
    const out = (r.stdout ?? '').replace(ansi, '')
    const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN)
    const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN)
    const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0)
    if (Number.isNaN(total) || Number.isNaN(ok)) {
      // The runner died before its summary (a crash in a test file): count the package as one failure.
      failed += 1
      failures.push(`${pkg.name} (no summary, exit ${r.status})`)
      continue
    }
    passed += ok
    skippedAll += skipped
    // uvu's Total leaves skipped cases out already.
    const bad = total - ok
    failed += bad
    if (bad > 0 || r.status !== 0) failures.push(`${pkg.name} (${bad} failed, exit ${r.status})`)
    if (bad === 0 && r.status !== 0) failed += 1
  }
}

console.log('')
if (failures.length) console.log(`failures: ${failures.join('; ')}`)
console.log(`${passed} passed, ${failed} failed${skippedAll ? `, ${skippedAll} skipped` : ''}`)
process.exit(failed === 0 ? 0 : 1)
