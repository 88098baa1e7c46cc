// Hono with sticky-fetch in a route: the app answers its own routes, and every method under /api/ is
// handed, as the standard Request it is, to the sticky fetch handler, which pins the browser to one
// peer. Served here by @hono/node-server (test/recipes.test.ts); on Bun, Deno or Workers, serve
// `app.fetch` as those runtimes do and drop the Node-specific `getConnInfo` line.
import { getConnInfo } from '@hono/node-server/conninfo'
import { Hono } from 'hono'
import { createStickyFetch } from 'sticky-fetch'

/** `peers` are origins: `['http://10.0.0.1:8080', 'http://10.0.0.2:8080']`. */
export function createApp(peers: string[]): Hono {
  const handler = createStickyFetch({
    peers,
    cookie: { name: 'route', httpOnly: true, sameSite: 'Lax' },
    // Off Cloudflare nothing vouches for a client's CF-Connecting-IP: X-Forwarded-For takes the address
    // the route hands over below (the socket's peer address).
    proxy: { clientAddress: (_request, address) => (typeof address === 'string' ? address : undefined) },
  })

  const app = new Hono()
  app.get('/health', (c) => c.json({ ok: true }))
  // The path is forwarded as it is: /api/users reaches the peer as /api/users.
  app.all('/api/*', (c) => handler(c.req.raw, getConnInfo(c).remote.address))
  return app
}
