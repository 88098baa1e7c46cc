import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Where Debian's `chromium` package installs the browser. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium'

/** The executable from `CHROMIUM_PATH`, else the default one, if it exists and is executable. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidate = env.CHROMIUM_PATH !== undefined && env.CHROMIUM_PATH !== '' ? env.CHROMIUM_PATH : DEFAULT_CHROMIUM
  try {
    accessSync(candidate, constants.X_OK)
    return candidate
  } catch {
    return undefined
  }
}

/**
 * What a browser test does about Chromium: `run` it; `not-run` (Chromium missing on a developer's
 * machine: print the message, register no browser cases); or `fail` (missing under CI, where the
 * browser cases must fail rather than vanish: register one failing case with the message).
 */
export type ChromiumGate =
  | { readonly kind: 'run'; readonly executable: string }
  | { readonly kind: 'not-run'; readonly message: string }
  | { readonly kind: 'fail'; readonly message: string }

/**
 * Decides {@link ChromiumGate} for the test named `what` from `CHROMIUM_PATH` and `CI` (any non-empty
 * value). Skipping with uvu's `.skip` is not an option: the repository's runner miscounts uvu skips.
 */
export function chromiumGate(what: string, env: NodeJS.ProcessEnv = process.env): ChromiumGate {
  const executable = findChromium(env)
  if (executable !== undefined) return { kind: 'run', executable }
  const where = env.CHROMIUM_PATH !== undefined && env.CHROMIUM_PATH !== '' ? env.CHROMIUM_PATH : DEFAULT_CHROMIUM
  const ci = env.CI !== undefined && env.CI !== ''
  return ci
    ? { kind: 'fail', message: `Chromium not found at ${where}: CI must install it (apt-get install chromium) or set CHROMIUM_PATH` }
    : { kind: 'not-run', message: `${what} NOT RUN: Chromium not found at ${where}; install it (Debian: apt-get install chromium) or set CHROMIUM_PATH` }
}

/**
 * The flags every test starts Chromium with, besides the ones of its driver: no sandbox (containers and CI
 * run as root, where it cannot start), no GPU, no QUIC, and no update, sync or other background traffic.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** The serialized DOM of a page after its scripts ran, and how the browser exited. */
export interface DumpedDom {
  readonly html: string
  readonly stderr: string
  readonly exitCode: number | null
}

/**
 * Loads `url` in headless Chromium and returns the DOM it serialised. Module scripts run before
 * DOMContentLoaded, so the dump holds what they wrote. The profile is a fresh temporary directory and
 * the browser's whole process group is killed on timeout; both are gone when this returns or throws.
 */
export async function dumpDom(executable: string, url: string, timeoutMs: number): Promise<DumpedDom> {
  const profile = await mkdtemp(join(tmpdir(), 'sticky-chromium-'))
  try {
    const args = [
      '--headless',
      // Nothing but the page may reach the network, and no update or sync traffic may delay the exit.
      ...CHROMIUM_FLAGS,
      `--user-data-dir=${profile}`,
      '--dump-dom',
      url,
    ]
    // Its own process group, so that a timeout also ends the renderer and utility processes it started.
    const child = spawn(executable, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      killGroup(child.pid)
    }, timeoutMs)
    try {
      const exitCode = await new Promise<number | null>((resolve, reject) => {
        child.once('error', reject)
        child.once('close', (code) => resolve(code))
      })
      const result = { html: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), exitCode }
      if (timedOut) throw new Error(`Chromium did not finish within ${timeoutMs} ms; stderr:\n${tail(result.stderr)}`)
      return result
    } finally {
      clearTimeout(timer)
      // Helpers the browser left behind would keep the profile busy and outlive the test.
      killGroup(child.pid)
    }
  } finally {
    await rm(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // The group is already gone: the normal case after a clean exit.
  }
}

/** The last lines of a browser log, for an error message, without the D-Bus complaints of a machine that has no session bus. */
export function tail(text: string, lines = 20): string {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.includes('dbus/'))
    .slice(-lines)
    .join('\n')
}
