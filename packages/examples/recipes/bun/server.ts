// sticky-fetch on Bun: `bun run server.ts`, with PEERS set to the origins of your backends.
// Type-checked by the test suite against Bun's own types; it cannot run there (no Bun on Node).
import { createStickyFetch } from 'sticky-fetch'

const handler = createStickyFetch({
  peers: (Bun.env['PEERS'] ?? 'http://127.0.0.1:9001,http://127.0.0.1:9002').split(','),
  cookie: { name: 'route', httpOnly: true, sameSite: 'Lax' },
  // X-Forwarded-For takes the address Bun read from the socket, handed over below.
  proxy: { clientAddress: (_request, address) => (typeof address === 'string' ? address : undefined) },
})

const server = Bun.serve({
  port: Number(Bun.env['PORT'] ?? 8080),
  hostname: '127.0.0.1',
  fetch: (request, server) => handler(request, server.requestIP(request)?.address),
})
console.log(`sticky proxy on ${server.url}`)
