// Two local backends behind a Fastify app that pins each browser to one of them.
// Run: npx tsx examples/basic.ts, then: curl -i -c jar -b jar http://127.0.0.1:3000/app/hello
import { createServer } from 'node:http'
import Fastify from 'fastify'
import { stickyProxy } from '../src/index'

for (const port of [3001, 3002]) {
  createServer((req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.end(`backend ${port} got ${req.method} ${req.url}\n`)
  }).listen(port, '127.0.0.1')
}

const app = Fastify({ logger: true })

await app.register(stickyProxy, {
  peers: ['127.0.0.1:3001', '127.0.0.1:3002'],
  cookie: { name: 'route', httpOnly: true, sameSite: 'Lax', expires: 3600 },
  prefix: '/app', // /app/hello is sent upstream as /hello
  // By default an idempotent request whose peer is down tries every other peer once (`retries`).
})

// The app's own routes keep working beside the proxy, and can read the decision.
app.get('/whoami', async (request) => ({ sticky: request.sticky?.outcome ?? 'not proxied' }))

app.addHook('onResponse', async (request) => {
  if (request.sticky !== null) request.log.info({ outcome: request.sticky.outcome, peer: request.sticky.peer?.id }, 'sticky')
})

await app.listen({ port: 3000, host: '127.0.0.1' })
