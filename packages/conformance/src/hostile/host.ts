import { spawn, type ChildProcess } from 'node:child_process'
import type { Balancer } from 'sticky-core'
import type { HostileBuild, HostileBuilt, HostileFactory, HostileOptions, RunningHostile } from './types'

/**
 * Hosting the adapter under test: in this process, or in a child process so that a crash of the
 * adapter (an uncaught exception kills a Node process) fails the case with the child's own stack
 * trace instead of killing the test runner. Neither installs an `uncaughtException` handler: a
 * crash must stay a crash.
 */

const CHILD_ENV = 'STICKY_HOSTILE_CHILD'

/** Whether the peer with `address` is usable for a client whose Cookie header is `cookie`. */
function usableIn(balancer: Balancer, address: string, cookie: string): boolean {
  const decision = balancer.decide(cookie)
  return decision.outcome === 'hit' && decision.peer?.id === address
}

/** Hosts `build` in this process. */
export function inProcessFactory(build: HostileBuild): HostileFactory {
  return async (options) => {
    const built = await build(options)
    const balancer = built.balancer
    return {
      url: built.url,
      close: () => built.close(),
      usable: balancer === undefined ? built.usable : async (address, cookie) => usableIn(balancer, address, cookie),
      crashed: () => undefined,
      throwMarker: built.throwMarker,
    }
  }
}

type ToChild =
  | { readonly t: 'start'; readonly q: number; readonly options: HostileOptions }
  | { readonly t: 'stop'; readonly q: number; readonly id: number }
  | { readonly t: 'usable'; readonly q: number; readonly id: number; readonly address: string; readonly cookie: string }

type FromChild =
  | { readonly t: 'started'; readonly q: number; readonly id: number; readonly url: string; readonly observable: boolean; readonly throwMarker?: string }
  | { readonly t: 'done'; readonly q: number; readonly value?: boolean }
  | { readonly t: 'failed'; readonly q: number; readonly message: string }

/**
 * In a child process started by {@link childFactory}: serves `build` over IPC and returns true.
 * Anywhere else: returns false and does nothing. Call it first thing in the test file, and
 * register the suites only when it returns false.
 */
export function serveIfChild(build: HostileBuild): boolean {
  if (process.env[CHILD_ENV] !== '1' || typeof process.send !== 'function') return false
  const send = (message: FromChild): void => void process.send?.(message)
  const running = new Map<number, HostileBuilt>()
  let next = 1
  process.on('message', (message: ToChild) => {
    void (async () => {
      try {
        if (message.t === 'start') {
          const built = await build(message.options)
          const id = next++
          running.set(id, built)
          send({
            t: 'started',
            q: message.q,
            id,
            url: built.url,
            observable: built.balancer !== undefined || built.usable !== undefined,
            ...(built.throwMarker === undefined ? {} : { throwMarker: built.throwMarker }),
          })
        } else if (message.t === 'stop') {
          const built = running.get(message.id)
          running.delete(message.id)
          await built?.close()
          send({ t: 'done', q: message.q })
        } else {
          const built = running.get(message.id)
          let value: boolean
          if (built?.balancer !== undefined) value = usableIn(built.balancer, message.address, message.cookie)
          else if (built?.usable !== undefined) value = await built.usable(message.address, message.cookie)
          else throw new Error('no balancer to ask')
          send({ t: 'done', q: message.q, value })
        }
      } catch (error) {
        send({ t: 'failed', q: message.q, message: error instanceof Error ? (error.stack ?? error.message) : String(error) })
      }
    })()
  })
  // The parent went away: nothing is left to serve.
  process.on('disconnect', () => process.exit(0))
  return true
}

/** The last `limit` characters of what a stream wrote. */
class Tail {
  #text = ''
  constructor(readonly limit = 6_000) {}
  push(chunk: Buffer): void {
    this.#text = (this.#text + chunk.toString('utf8')).slice(-this.limit)
  }
  get text(): string {
    return this.#text
  }
}

/**
 * Hosts the adapter in a child process running `file` (the test file itself, whose first act is
 * {@link serveIfChild}). One child serves every adapter instance the kits start; it is replaced
 * when it dies, and ended by `dispose`.
 */
export function childFactory(file: string): HostileFactory {
  let current: Child | undefined
  const child = (): Child => {
    if (current === undefined || current.exit !== undefined) current = new Child(file)
    return current
  }
  const factory = async (options: HostileOptions): Promise<RunningHostile> => {
    const c = child()
    const started = (await c.ask({ t: 'start', q: 0, options })) as Extract<FromChild, { t: 'started' }>
    return {
      url: started.url,
      close: async () => {
        if (c.exit !== undefined) return
        await c.ask({ t: 'stop', q: 0, id: started.id })
      },
      usable: started.observable
        ? async (address, cookie) => {
            const answer = (await c.ask({ t: 'usable', q: 0, id: started.id, address, cookie })) as Extract<FromChild, { t: 'done' }>
            return answer.value === true
          }
        : undefined,
      crashed: () => c.exit,
      throwMarker: started.throwMarker,
    }
  }
  return Object.assign(factory, {
    dispose: async () => {
      const c = current
      current = undefined
      await c?.end()
    },
  })
}

class Child {
  readonly #process: ChildProcess
  readonly #pending = new Map<number, { resolve: (m: FromChild) => void; reject: (e: Error) => void }>()
  readonly #output = new Tail()
  readonly #exited: Promise<void>
  #next = 1
  #how: string | undefined

  constructor(file: string) {
    // tsx's CommonJS hook, as the test runner loads the test files; resolved from this package.
    const tsx = require.resolve('tsx/cjs')
    this.#process = spawn(process.execPath, ['-r', tsx, '-e', `require(${JSON.stringify(file)})`], {
      env: { ...process.env, [CHILD_ENV]: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    this.#process.stdout?.on('data', (chunk: Buffer) => this.#output.push(chunk))
    this.#process.stderr?.on('data', (chunk: Buffer) => this.#output.push(chunk))
    this.#process.on('message', (message: FromChild) => {
      const waiter = this.#pending.get(message.q)
      if (waiter === undefined) return
      this.#pending.delete(message.q)
      if (message.t === 'failed') waiter.reject(new Error(`in the adapter's process: ${message.message}`))
      else waiter.resolve(message)
    })
    this.#exited = new Promise<void>((resolve) => {
      this.#process.once('exit', (code, signal) => {
        this.#how = `exit code ${String(code)}, signal ${String(signal)}`
        // The output may still be arriving: waiters are told once it ended (or soon after the exit).
        const rejectAll = (): void => {
          const error = new Error(this.exit)
          for (const waiter of this.#pending.values()) waiter.reject(error)
          this.#pending.clear()
        }
        const flushed = setTimeout(rejectAll, 1_000)
        this.#process.once('close', () => {
          clearTimeout(flushed)
          rejectAll()
        })
        resolve()
      })
    })
    this.#process.on('error', () => undefined)
  }

  /** Set once the child exited: how, and its last output (read when asked, so that it is complete). */
  get exit(): string | undefined {
    if (this.#how === undefined) return undefined
    return `the process hosting the adapter died (${this.#how}); its output ends with:\n${this.#output.text}`
  }

  ask(message: ToChild): Promise<FromChild> {
    const exit = this.exit
    if (exit !== undefined) return Promise.reject(new Error(exit))
    const q = this.#next++
    return new Promise<FromChild>((resolve, reject) => {
      this.#pending.set(q, { resolve, reject })
      this.#process.send({ ...message, q })
    })
  }

  /** Ends the child (disconnecting makes it exit) and waits for it; kills it if it lingers. */
  async end(): Promise<void> {
    if (this.#how !== undefined) return
    if (this.#process.connected) this.#process.disconnect()
    const guard = setTimeout(() => this.#process.kill('SIGKILL'), 5_000)
    await this.#exited
    clearTimeout(guard)
  }
}
