import { suite } from 'uvu'
import { bodies } from './bodies'
import { failover } from './failover'
import { forgery } from './forgery'
import type { SuiteContext } from './harness'
import { headers } from './headers'
import { pinning } from './pinning'
import type { AdapterFactory, Capabilities } from './types'

const ALL: Capabilities = { retries: true, expectContinue: true, chunkedRequests: true, timeout: true }

/** The seed of this run's properties: `FC_SEED` replays a failure. */
function chooseSeed(): number {
  const fromEnv = Number(process.env['FC_SEED'])
  return Number.isSafeInteger(fromEnv) && process.env['FC_SEED'] !== '' ? fromEnv : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
}

/**
 * Registers and runs the conformance suite `name` against the adapter `factory` builds: real
 * `node:http` backends and a real client on 127.0.0.1, every resource closed by the case that
 * started it. Cases needing a capability the adapter lacks are left out, with a printed note.
 */
export function runConformance(name: string, factory: AdapterFactory, capabilities: Partial<Capabilities> = {}): void {
  const seed = chooseSeed()
  console.log(`[conformance ${name}] fast-check seed ${seed} (replay with FC_SEED=${seed})`)
  const test = suite(`conformance: ${name}`)
  const ctx: SuiteContext = { name: `conformance ${name}`, test, factory, capabilities: { ...ALL, ...capabilities }, seed }
  pinning(ctx)
  failover(ctx)
  bodies(ctx)
  headers(ctx)
  forgery(ctx)
  test.run()
}
