// A plain Node fetch server running the sticky-fetch handler: srvx turns node:http requests into
// standard Requests and writes the Responses back, so the handler that runs in a Worker runs in Node
// unchanged. (On Node, sticky-node is the native proxy and also pins WebSockets; this suits a fetch-style
// code base.) Run with the test suite (test/recipes.test.ts), or
// `start({ peers: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'], port: 8080 })`.
import { serve } from 'srvx'
import { createStickyFetch } from 'sticky-fetch'

export interface Started {
  /** Where the server listens: `http://127.0.0.1:<port>/`. */
  readonly url: string
  close(): Promise<void>
}

export async function start(options: { peers: string[]; port?: number }): Promise<Started> {
  const handler = createStickyFetch({
    peers: options.peers,
    cookie: { name: 'route', httpOnly: true, sameSite: 'Lax' },
    // X-Forwarded-For takes the address srvx read from the socket, handed over below.
    proxy: { clientAddress: (_request, address) => (typeof address === 'string' ? address : undefined) },
  })

  const server = serve({
    port: options.port ?? 0,
    hostname: '127.0.0.1',
    silent: true, // no banner on the console
    fetch: (request) => handler(request, request.ip),
  })
  await server.ready()
  return {
    url: server.url ?? '',
    close: () => server.close(true), // true: also close kept-alive connections
  }
}
