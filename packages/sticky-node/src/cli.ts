#!/usr/bin/env node
// The `sticky-proxy` command: parses the command line, then runs the proxy (one process, or a cluster
// primary and its workers) or the demo.
// Exit codes: 0 done, 1 runtime failure (or a shutdown whose grace ran out), 2 bad command line or configuration.
import { availableParallelism } from 'node:os'
import { readFileSync } from 'node:fs'
import { StickyConfigError } from 'sticky-core'
import { version } from '../package.json'
import { CliUsageError, USAGE, parseCommandLine, parseServeFlags } from './args'
import { isWorker, runPrimary, runWorker } from './cluster'
import { runDemo } from './demo'
import { EXIT_FAILURE, EXIT_USAGE, type RunnerIo, startRunner } from './serve'
import { errorLine, recordingConfigText } from './reload'
import { loadServePlan, type ServePlan } from './serve-plan'

function out(line: string): void {
  process.stdout.write(`${line}\n`)
}

function fail(code: number, message: string): never {
  process.stderr.write(`sticky-proxy: ${message}\n`)
  process.exit(code)
}

const io: RunnerIo = {
  env: process.env,
  readFile: (path) => readFileSync(path),
  cpus: () => availableParallelism(),
  out,
  err: (line) => process.stderr.write(`${line}\n`),
  exit: (code) => process.exit(code),
}

function main(argv: readonly string[]): void {
  // A closed stdout (`sticky-proxy | head`) must not crash the proxy through an unhandled EPIPE.
  process.stdout.on('error', () => {})
  let command: ReturnType<typeof parseCommandLine>
  try {
    command = parseCommandLine(argv)
  } catch (error) {
    if (error instanceof CliUsageError) fail(EXIT_USAGE, error.message)
    throw error
  }
  switch (command.kind) {
    case 'help':
      process.stdout.write(USAGE)
      return
    case 'version':
      out(`sticky-proxy ${version}`)
      return
    case 'demo':
      runDemo(out).then(
        () => process.exit(0),
        (error: unknown) => fail(EXIT_FAILURE, `demo failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      return
    case 'serve':
      // A worker's plan comes from the config text its primary accepted (see runWorker), not the file.
      if (isWorker()) runWorker(argv, io)
      else serve(argv)
  }
}

/** The plan, and the config file's text it was loaded from (a cluster primary hands that text to its workers). */
function loadPlan(argv: readonly string[]): { readonly plan: ServePlan; readonly configText: string | undefined } {
  try {
    const reading = recordingConfigText(io, parseServeFlags(argv).config)
    return { plan: loadServePlan(argv, reading.io), configText: reading.text() }
  } catch (error) {
    if (error instanceof CliUsageError || error instanceof StickyConfigError) fail(EXIT_USAGE, errorLine(error))
    throw error
  }
}

function serve(argv: readonly string[]): void {
  const { plan, configText } = loadPlan(argv)
  if (plan.workers > 1) {
    runPrimary(argv, plan, configText, io)
    return
  }
  const runner = startRunner(argv, plan, io)
  process.on('SIGTERM', () => runner.stop('SIGTERM', false))
  process.on('SIGINT', () => runner.stop('SIGINT', false))
  process.on('SIGHUP', () => runner.reload())
}

main(process.argv.slice(2))
