import { createBalancer, type Balancer, type BalancerOptions } from 'sticky-core'
import type { Test } from 'uvu'
import * as assert from 'uvu/assert'
import { startBackend, type Backend } from './backend'
import { send, type Answer } from './client'
import { CookieJar } from './jar'
import type { Scope } from './scope'
import type { AdapterFactory, AdapterOptions, Capabilities, RunningProxy } from './types'

/** What every group of behaviours gets from `runConformance`. */
export interface SuiteContext {
  /** The suite's name, for messages. */
  readonly name: string
  /** The uvu suite to register cases on. */
  readonly test: Test
  readonly factory: AdapterFactory
  readonly capabilities: Capabilities
  /** fast-check seed of this run (printed, replayable with `FC_SEED`). */
  readonly seed: number
}

/**
 * Registers `body` as a case when the adapter has `capability`; otherwise prints that the case is
 * left out. (Not uvu's `skip`: the repository's runner reads uvu's summary, whose total leaves
 * skipped cases out, and would count a skip as a negative failure.)
 */
export function caseIf(ctx: SuiteContext, capability: keyof Capabilities, name: string, body: () => Promise<void>): void {
  if (ctx.capabilities[capability]) ctx.test(name, body)
  else console.log(`[${ctx.name}] left out (no ${capability}): ${name}`)
}

/** Starts `count` backends named b1, b2, ... and closes them with the scope. */
export async function startBackends(scope: Scope, count: number, prefix = 'b'): Promise<Backend[]> {
  const started: Backend[] = []
  for (let i = 1; i <= count; i += 1) {
    const backend = await startBackend(`${prefix}${i}`)
    started.push(scope.defer(backend, () => backend.close()))
  }
  return started
}

/** Starts the adapter under test and closes it with the scope. */
export async function startAdapter(scope: Scope, factory: AdapterFactory, options: AdapterOptions): Promise<RunningProxy> {
  const proxy = await factory(options)
  return scope.defer(proxy, () => proxy.close())
}

/**
 * An independent balancer built from the same options: two balancers built from the same options
 * agree on cookie values, so this is what the adapter's cookies must say.
 */
export class CookieModel {
  readonly balancer: Balancer
  readonly name: string

  constructor(options: BalancerOptions) {
    this.balancer = createBalancer(options)
    this.name = options.cookie?.name ?? 'route'
  }

  /** The cookie value that pins to the backend listening at `address`. */
  valueOf(backend: Pick<Backend, 'address'>): string {
    const peer = this.balancer.peers.find((p) => p.id === backend.address)
    if (peer === undefined) throw new Error(`${backend.address} is not a configured peer`)
    return this.balancer.cookieValue(peer)
  }

  /** The value of the sticky cookie set by `answer`, if it set one. */
  setBy(answer: Answer): string | undefined {
    const prefix = `${this.name}=`
    const line = answer.setCookies.find((l) => l.startsWith(prefix))
    return line?.slice(prefix.length).split(';')[0]
  }

  /** Asserts that `answer` came from a configured backend and, if it set the cookie, pins to it. */
  assertPinnedToAnswerer(answer: Answer, backends: readonly Backend[], message = ''): Backend {
    assert.is(answer.status, 200, `${message} status`)
    const backend = backends.find((b) => b.name === answer.backend)
    assert.ok(backend, `${message} answered by a configured backend, got ${String(answer.backend)}`)
    if (backend === undefined) throw new Error('unreachable')
    const value = this.setBy(answer)
    if (value !== undefined) assert.is(value, this.valueOf(backend), `${message} cookie names the backend that answered`)
    return backend
  }
}

/** Peers for the backends, with options applied to each. */
export function peersOf(backends: readonly Backend[], options: { failTimeout?: number; maxFails?: number } = {}): BalancerOptions['peers'] {
  return backends.map((b) => ({ address: b.address, ...options }))
}

/**
 * Asserts that `times` requests in a row, each from a fresh client holding the cookie that pins to
 * `backend`, are answered 200 by `backend` and get no cookie naming another peer: the peer is still
 * in service for its clients (it was not blamed, or its failures were cleared).
 */
export async function assertStaysOn(url: string, model: CookieModel, backend: Backend, message: string, times = 3): Promise<void> {
  for (let i = 0; i < times; i += 1) {
    const jar = new CookieJar()
    jar.set(model.name, model.valueOf(backend))
    const answer = await send(url, { jar, path: `/pinned?i=${i}` })
    const label = `${message}: pinned request ${i + 1} of ${times}`
    assert.is(answer.status, 200, `${label} status`)
    assert.is(answer.backend, backend.name, `${label} reached ${backend.name}`)
    const value = model.setBy(answer)
    if (value !== undefined) assert.is(value, model.valueOf(backend), `${label}: no cookie naming another peer`)
  }
}
