// sticky-fetch on Deno: `deno run --allow-net --allow-env server.ts`, with PEERS set to the origins of
// your backends (import `npm:sticky-fetch`, or map `sticky-fetch` to it in deno.json).
// Type-checked by the test suite against Deno's own types; it cannot run there (no Deno on Node).
import { createStickyFetch } from 'sticky-fetch'

const handler = createStickyFetch({
  peers: (Deno.env.get('PEERS') ?? 'http://127.0.0.1:9001,http://127.0.0.1:9002').split(','),
  cookie: { name: 'route', httpOnly: true, sameSite: 'Lax' },
  // X-Forwarded-For takes the address Deno read from the socket, handed over below.
  proxy: { clientAddress: (_request, address) => (typeof address === 'string' ? address : undefined) },
})

Deno.serve({ port: Number(Deno.env.get('PORT') ?? 8080), hostname: '127.0.0.1' }, (request, info) => handler(request, info.remoteAddr.hostname))
