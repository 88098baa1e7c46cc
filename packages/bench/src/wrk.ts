import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** What one wrk run measured, as its Lua `done` hook printed it. */
export interface WrkResult {
  readonly requests: number
  readonly seconds: number
  readonly requestsPerSecond: number
  /** Milliseconds. */
  readonly p50: number
  readonly p99: number
  /** Responses with a status of 400 or more. */
  readonly non2xx: number
  /** connect + read + write + timeout errors. */
  readonly socketErrors: number
}

/** The line the Lua script's `done` prints first, so that it can be told from wrk's own report. */
export const RESULT_PREFIX = 'wrk-result '

/**
 * The Lua script for wrk: sends `cookie` (when given) on every request and prints one JSON line of
 * results at the end. The cookie is embedded as a Lua long string, which cannot be closed by any cookie
 * value (the `=` level is chosen to be absent from it).
 */
export function wrkScript(cookie: string | undefined): string {
  let level = ''
  while (cookie?.includes(`]${level}]`)) level += '='
  const set = cookie === undefined ? '' : `wrk.headers["Cookie"] = [${level}[${cookie}]${level}]\n`
  return `${set}done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("${RESULT_PREFIX}{\\"requests\\":%d,\\"us\\":%d,\\"p50\\":%d,\\"p99\\":%d,\\"status\\":%d,\\"socket\\":%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
`
}

/**
 * Reads the result line of {@link wrkScript} out of wrk's output.
 * @throws RangeError when there is none (wrk failed before the end of its run).
 */
export function parseWrkOutput(output: string): WrkResult {
  const line = output.split('\n').find((l) => l.startsWith(RESULT_PREFIX))
  if (line === undefined) throw new RangeError(`no result line in wrk's output: ${JSON.stringify(output.slice(0, 400))}`)
  const raw = JSON.parse(line.slice(RESULT_PREFIX.length)) as { requests: number; us: number; p50: number; p99: number; status: number; socket: number }
  const seconds = raw.us / 1e6
  return {
    requests: raw.requests,
    seconds,
    requestsPerSecond: seconds > 0 ? raw.requests / seconds : Number.NaN,
    p50: raw.p50 / 1000,
    p99: raw.p99 / 1000,
    non2xx: raw.status,
    socketErrors: raw.socket,
  }
}

/** How wrk loads a proxy. */
export interface WrkLoad {
  readonly url: string
  readonly connections: number
  readonly seconds: number
  readonly cookie: string | undefined
}

/** Runs `wrk -t1 -c<n> -d<s>` with the script, in `workDir` (which holds the script file). */
export async function runWrk(load: WrkLoad, workDir: string): Promise<WrkResult> {
  const script = join(workDir, `wrk-${load.cookie === undefined ? 'new' : 'hit'}-${process.pid}.lua`)
  await writeFile(script, wrkScript(load.cookie))
  const args = ['-t1', `-c${load.connections}`, `-d${Math.max(1, Math.round(load.seconds))}s`, '--timeout', '10s', '-s', script, load.url]
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString()
    })
    child.once('error', reject)
    child.once('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${String(code)}: ${text.slice(0, 400)}`))))
  })
  return parseWrkOutput(output)
}
