import { fork, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** A child that has not said it is ready by then is stuck (the memory probe needs about ten seconds). */
const READY_TIMEOUT_MS = 120_000

/** A request from the benchmark to one of its child processes. */
export interface Request {
  readonly id: number
  readonly type: string
  readonly payload?: unknown
}

/** A child's answer: `id` 0 is its unsolicited "ready" message, sent once it listens. */
export type Reply = { readonly id: number; readonly ok: true; readonly result: unknown } | { readonly id: number; readonly ok: false; readonly error: string }

/** A child process running one of this package's TypeScript files, spoken to over IPC. */
export interface Child {
  /** What the child sent when it was ready (ports, for instance). */
  readonly ready: unknown
  /** Its process id (to read its `/proc/<pid>/status` from outside). */
  readonly pid: number
  /** Sends a request and resolves with the child's result; rejects with its error or if it dies. */
  request(type: string, payload?: unknown): Promise<unknown>
  /** Asks the child to exit, and kills it if it has not within two seconds. */
  close(): Promise<void>
  /** Kills the child with SIGKILL (a crash: nothing closes gracefully) and resolves once it is gone. */
  kill(): Promise<void>
}

/**
 * Starts `entry` (a TypeScript module of this package, run with the tsx loader, or a built .mjs run as
 * it is) in a new Node process, so that what is measured there (a server, a heap) does not share a heap
 * or an event loop with the benchmark. `nodeFlags` go to that Node (e.g. `--expose-gc`).
 */
export async function startChild(entry: URL, args: readonly string[] = [], nodeFlags: readonly string[] = []): Promise<Child> {
  // Plain JavaScript (a bundle the benchmark built) runs without the loader, whose own memory and
  // start-up would be counted as the child's.
  const typescript = entry.pathname.endsWith('.ts')
  const loader = typescript ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : []
  const child = fork(fileURLToPath(entry), [...args], {
    execArgv: [...loader, ...nodeFlags],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  })
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  let nextId = 1
  let exited = false
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true
      for (const { reject } of pending.values()) reject(new Error(`child ${entry.pathname} exited (${String(code ?? signal)})`))
      pending.clear()
      resolve()
    })
  })
  const ready = await new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child ${entry.pathname} not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS)
    pending.set(0, {
      resolve: (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      reject: (error) => {
        clearTimeout(timer)
        reject(error)
      },
    })
    child.on('message', (message: Reply) => {
      const waiter = pending.get(message.id)
      if (waiter === undefined) return
      pending.delete(message.id)
      if (message.ok) waiter.resolve(message.result)
      else waiter.reject(new Error(message.error))
    })
    child.once('error', reject)
  }).catch(async (error: unknown) => {
    await stop(child, exit)
    throw error
  })
  return {
    ready,
    pid: child.pid ?? 0,
    request(type: string, payload?: unknown): Promise<unknown> {
      if (exited) return Promise.reject(new Error(`child ${entry.pathname} is gone`))
      const id = nextId++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        const message: Request = payload === undefined ? { id, type } : { id, type, payload }
        child.send(message)
      })
    },
    close: () => stop(child, exit),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exit
    },
  }
}

async function stop(child: ChildProcess, exit: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  if (child.connected) child.disconnect()
  const timer = setTimeout(() => child.kill('SIGKILL'), 2_000)
  await exit
  clearTimeout(timer)
}

/**
 * The child's side: answers the parent's requests with `handlers`, tells the parent it is ready with
 * `ready`, and exits when the parent disconnects (after `onDisconnect`, which closes servers).
 */
export function serveParent(handlers: Readonly<Record<string, (payload: unknown) => unknown>>, ready: unknown, onDisconnect: () => Promise<void> | void): void {
  const send = (reply: Reply): void => {
    process.send?.(reply)
  }
  process.on('message', (message: Request) => {
    const handler = Object.hasOwn(handlers, message.type) ? handlers[message.type] : undefined
    if (handler === undefined) {
      send({ id: message.id, ok: false, error: `unknown request ${message.type}` })
      return
    }
    Promise.resolve()
      .then(() => handler(message.payload))
      .then(
        (result) => send({ id: message.id, ok: true, result }),
        (error: unknown) => send({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
      )
  })
  process.once('disconnect', () => {
    Promise.resolve()
      .then(onDisconnect)
      .finally(() => process.exit(0))
  })
  send({ id: 0, ok: true, result: ready })
}
