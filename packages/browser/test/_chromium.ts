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
      // Containers and CI run as root, where the sandbox cannot start.
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      // Nothing but the page may reach the network, and no update or sync traffic may delay the exit.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
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
