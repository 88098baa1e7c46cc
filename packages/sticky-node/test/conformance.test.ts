import { runConformance } from 'sticky-conformance'
import { listenProxy } from './_server'

runConformance('sticky-node createStickyProxy', async ({ balancer, retries, timeoutMs }) => {
  const proxy = {
    ...(retries === undefined ? {} : { retries }),
    ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }),
  }
  const listening = await listenProxy({ ...balancer, proxy })
  return { url: listening.url, close: () => listening.close() }
})
