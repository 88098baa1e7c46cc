import { runConformance } from 'sticky-conformance'
import { listenProxy } from './_server'

runConformance('sticky-node createStickyProxy', async ({ balancer, retries, timeoutMs, trustProxy, requestId, xForwarded }) => {
  const proxy = {
    ...(retries === undefined ? {} : { retries }),
    ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
    trustProxy,
    requestId,
    xForwarded,
  }
  const listening = await listenProxy({ ...balancer, proxy })
  return { url: listening.url, close: () => listening.close() }
})
