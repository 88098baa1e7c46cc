import { suite } from 'uvu'
import { affinity } from './affinity'
import { bodies } from './bodies'
import { clientFaults } from './client-faults'
import { defaults } from './defaults'
import { earlyAnswers } from './early-answers'
import { failover } from './failover'
import { forgery } from './forgery'
import type { SuiteContext } from './harness'
import { headerRules } from './header-rules'
import { headers } from './headers'
import { pinning } from './pinning'
import { recovery } from './recovery'
import { fastCheckSeed } from './seed'
import type { AdapterFactory, Capabilities } from './types'

const ALL: Capabilities = { retries: true, expectContinue: true, chunkedRequests: true, timeout: true, injectedClock: true, limits: {} }

/**
 * Registers and runs the conformance suite `name` against the adapter `factory` builds: real
 * `node:http` backends and a real client on 127.0.0.1, every resource closed by the case that
 * started it. Cases needing a capability the adapter lacks are left out, with a printed note.
 */
export function runConformance(name: string, factory: AdapterFactory, capabilities: Partial<Capabilities> = {}): void {
  const seed = fastCheckSeed(`conformance ${name}`)
  const test = suite(`conformance: ${name}`)
  const ctx: SuiteContext = { name: `conformance ${name}`, test, factory, capabilities: { ...ALL, ...capabilities }, seed }
  pinning(ctx)
  failover(ctx)
  bodies(ctx)
  headers(ctx)
  forgery(ctx)
  recovery(ctx)
  affinity(ctx)
  clientFaults(ctx)
  earlyAnswers(ctx)
  headerRules(ctx)
  defaults(ctx)
  test.run()
}
