import { runConformance } from 'sticky-conformance'
import type { AdapterFactory } from 'sticky-conformance'
import { stickyProxy } from '../src/index'
import { createApp, listen } from './_app'

const factory: AdapterFactory = async (options) => {
  const app = createApp()
  try {
    await app.register(stickyProxy, {
      ...options.balancer,
      proxy: {
        ...(options.retries === undefined ? {} : { retries: options.retries }),
        ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
        trustProxy: options.trustProxy,
        requestId: options.requestId,
        xForwarded: options.xForwarded,
      },
    })
    const url = await listen(app)
    return { url, close: () => app.close() }
  } catch (error) {
    await app.close()
    throw error
  }
}

runConformance('sticky-fastify', factory)
