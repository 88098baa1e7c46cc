import { runConformance } from 'sticky-conformance'
import type { AdapterOptions, RunningProxy } from 'sticky-conformance'
import { startWorker } from './_workerd'

/** The built handler inside the real workerd runtime, its options passed as a JSON binding. */
async function factory(options: AdapterOptions): Promise<RunningProxy> {
  const proxy: Record<string, unknown> = { keepContentEncoding: true }
  if (options.retries !== undefined) proxy.retries = options.retries
  if (options.timeoutMs !== undefined) proxy.timeout = options.timeoutMs
  if (options.trustProxy !== undefined) proxy.trustProxy = options.trustProxy
  if (options.requestId !== undefined) proxy.requestId = options.requestId
  if (options.xForwarded !== undefined) proxy.xForwarded = options.xForwarded
  return startWorker({ MODE: 'options', OPTIONS: { ...options.balancer, proxy } })
}

// workerd's own HTTP listener never sends `100 Continue` (the client would wait for it forever); the
// request does not reach the Worker, so no handler can change it. On Cloudflare the edge answers it.
runConformance('sticky-fetch (workerd)', factory, {
  expectContinue: false,
  injectedClock: false,
  limits: {
    'early-answer-lost-to-reset':
      "workerd reads a peer's early answer late enough that the peer's reset can discard its body (a TCP race no handler can win every time)",
  },
})
