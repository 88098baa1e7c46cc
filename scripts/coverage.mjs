// Coverage of the published packages' sources, from the raw V8 coverage the tests' processes wrote
// (NODE_V8_COVERAGE), used by scripts/test.mjs.
//
// Each process's coverage is turned into line and branch counts of the TypeScript sources on its own, and
// only then merged. c8's usual report merges the raw V8 ranges of every process first, which is wrong when
// processes ran different transpilations of the same file (tsx as CommonJS in the test runner, as an ES
// module in a child started with --import tsx): the merged ranges then mark whole files as covered or not.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const fromC8 = createRequire(require.resolve('c8/package.json'))
const { Report } = require('c8')
const libCoverage = fromC8('istanbul-lib-coverage')
const libReport = fromC8('istanbul-lib-report')
const reports = fromC8('istanbul-reports')

/**
 * What is measured: the published packages' sources as the tests load them (TypeScript, through tsx). A
 * child process that runs a built dist/ is not counted: its bundle maps back to the sources too coarsely.
 */
export const COVERED_URL = /\/packages\/sticky-[^/]+\/src\//
const INCLUDE = ['packages/sticky-*/src/**']

/** Keeps, of the raw files the last processes wrote in `dir`, only the scripts that are measured. */
export function trimRawCoverage(dir) {
  if (!existsSync(dir)) return
  for (const file of readdirSync(dir)) {
    if (!file.startsWith('coverage-')) continue
    const path = join(dir, file)
    let data
    try {
      data = JSON.parse(readFileSync(path, 'utf8'))
    } catch {
      rmSync(path) // a process killed while writing it
      continue
    }
    rmSync(path)
    const result = (data.result ?? []).filter((script) => COVERED_URL.test(script.url))
    if (result.length === 0) continue
    const cache = Object.fromEntries(Object.entries(data['source-map-cache'] ?? {}).filter(([url]) => COVERED_URL.test(url)))
    writeFileSync(join(dir, file.replace(/^coverage-/, 'kept-')), JSON.stringify({ ...data, result, 'source-map-cache': cache }))
  }
}

/**
 * Converts every kept process file of `rawDir` on its own, merges the results, writes `lcov.info` and
 * `coverage-summary.json` to `reportDir`, and returns the summary: file path to its totals, plus `total`.
 */
export async function coverageSummary(root, rawDir, reportDir) {
  const merged = libCoverage.createCoverageMap()
  const one = join(rawDir, 'one')
  for (const file of readdirSync(rawDir).filter((name) => name.startsWith('kept-'))) {
    rmSync(one, { recursive: true, force: true })
    mkdirSync(one)
    renameSync(join(rawDir, file), join(one, file))
    const report = new Report({
      tempDirectory: one,
      reportsDirectory: reportDir,
      reporter: [],
      include: INCLUDE,
      exclude: [],
      extension: ['.ts'],
      excludeAfterRemap: true,
      excludeNodeModules: true,
      src: [root],
      resolve: '',
      omitRelative: true,
    })
    merged.merge(await report.getCoverageMapFromAllCoverageFiles())
    renameSync(join(one, file), join(rawDir, file))
  }
  rmSync(one, { recursive: true, force: true })
  const context = libReport.createContext({ dir: reportDir, coverageMap: merged })
  for (const name of ['lcovonly', 'json-summary']) reports.create(name).execute(context)
  return JSON.parse(readFileSync(join(reportDir, 'coverage-summary.json'), 'utf8'))
}
