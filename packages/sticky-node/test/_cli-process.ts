// Runs the built `sticky-proxy` bin as a child process, and real backends for it to proxy to.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'

export const BIN = join(__dirname, '..', 'dist', 'cli.js')

// Children still running. If the test process dies early (an uncaught error anywhere in the run), its
// `finally` blocks never run; this hook still kills them, so that no proxy outlives the tests.
const running = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/** A running `sticky-proxy`: its output so far, and ways to wait for more. */
export interface CliProcess {
  readonly child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves with the first match of `pattern` in stdout (or stderr), waiting up to `ms`. */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr', ms?: number): Promise<RegExpMatchArray>
  /** Resolves when the process has exited. */
  exited(ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL if still running; safe to call in every `finally`. */
  kill(): void
}

export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: build the package (npx tsup) before these tests`)
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = { stdout: '', stderr: '' }
  const listeners = new Set<() => void>()
  const notify = (): void => {
    for (const listener of [...listeners]) listener()
  }
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output.stdout += chunk
    notify()
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output.stderr += chunk
    notify()
  })
  running.add(child)
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child)
      resolve({ code, signal })
      notify()
    })
  })
  let done = false
  void exit.then(() => {
    done = true
  })
  return {
    child,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    waitFor: (pattern, stream = 'stdout', ms = 5_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(output[stream])
          if (match !== null) {
            finish()
            resolve(match)
          } else if (done) {
            finish()
            reject(new Error(`process exited before ${pattern} on ${stream}; stdout=${JSON.stringify(output.stdout)} stderr=${JSON.stringify(output.stderr)}`))
          }
        }
        const timer = setTimeout(() => {
          finish()
          reject(new Error(`timed out waiting for ${pattern} on ${stream}; stdout=${JSON.stringify(output.stdout)} stderr=${JSON.stringify(output.stderr)}`))
        }, ms)
        const finish = (): void => {
          clearTimeout(timer)
          listeners.delete(check)
        }
        listeners.add(check)
        check()
      }),
    exited: (ms = 10_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`process did not exit within ${ms} ms; stderr=${JSON.stringify(output.stderr)}`)), ms)
        void exit.then((result) => {
          clearTimeout(timer)
          resolve(result)
        })
      }),
    kill: () => {
      if (!done && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}

/** Runs the bin to completion. */
export async function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  ms = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = spawnCli(args, env)
  try {
    const { code } = await cli.exited(ms)
    return { code, stdout: cli.stdout(), stderr: cli.stderr() }
  } finally {
    cli.kill()
  }
}

/** Starts `sticky-proxy` with `--listen 0` and waits for the address it prints. */
export async function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliProcess & { readonly port: number }> {
  const cli = spawnCli(['--listen', '0', ...args], env)
  try {
    const match = await cli.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/)
    return Object.assign(cli, { port: Number(match[1]) })
  } catch (error) {
    cli.kill()
    throw error
  }
}

/**
 * A real node:http backend on 127.0.0.1 that names itself in `x-backend`. `/slow` answers after
 * `slowMs`, `/slower` after twice that; `/cookies` sets two cookies of its own.
 */
export interface TestBackend {
  readonly name: string
  readonly address: string
  /** Requests seen so far, with their headers. */
  readonly seen: Array<{ url: string; headers: IncomingHttpHeaders }>
  /** Resolves when the next `/slow` or `/slower` request has arrived. */
  slowArrived(): Promise<void>
  close(): Promise<void>
}

export async function startBackend(name: string, slowMs = 800): Promise<TestBackend> {
  const seen: TestBackend['seen'] = []
  let arrived: (() => void) | undefined
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers })
    const answer = (): void => {
      if (req.url === '/cookies') res.setHeader('set-cookie', ['a=1', 'b=2'])
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name })
      res.end(`hello from ${name}\n`)
    }
    if (req.url === '/slow' || req.url === '/slower') {
      arrived?.()
      const timer = setTimeout(answer, req.url === '/slow' ? slowMs : 2 * slowMs)
      res.on('close', () => clearTimeout(timer))
    } else {
      answer()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    name,
    address: `127.0.0.1:${port}`,
    seen,
    slowArrived: () =>
      new Promise<void>((resolve) => {
        arrived = resolve
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

export interface Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** One GET to 127.0.0.1:`port` on a fresh connection that closes after the response (no pooled socket left). */
export function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** The `name=value` part of the first `Set-Cookie` for `name`, or undefined. */
export function setCookieValue(reply: Reply, name: string): string | undefined {
  for (const header of reply.headers['set-cookie'] ?? []) {
    const pair = header.split(';')[0] ?? ''
    if (pair.startsWith(`${name}=`)) return pair.slice(name.length + 1)
  }
  return undefined
}
