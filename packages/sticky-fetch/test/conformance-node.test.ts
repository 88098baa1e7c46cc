import { runConformance } from 'sticky-conformance'
import type { AdapterOptions, RunningProxy } from 'sticky-conformance'
import { createStickyFetch } from '../src/index'
import { serveFetch } from './_servers'

/** The handler behind a node:http server; the client address comes from the socket, not a header. */
async function factory(options: AdapterOptions): Promise<RunningProxy> {
  const handler = createStickyFetch({
    ...options.balancer,
    proxy: {
      ...(options.retries === undefined ? {} : { retries: options.retries }),
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      trustProxy: options.trustProxy,
      requestId: options.requestId,
      xForwarded: options.xForwarded,
      clientAddress: (_request, env) => (env as { remoteAddress?: string }).remoteAddress,
    },
  })
  const server = await serveFetch(handler)
  return { url: server.url, close: () => server.close() }
}

runConformance('sticky-fetch (node fetch)', factory)
