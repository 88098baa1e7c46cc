// Express with sticky-node as middleware: the app answers its own routes, and everything under /api is
// proxied to the peer the browser is pinned to. Run it with the test suite (test/recipes.test.ts), or
// call `start({ peers: ['10.0.0.1:8080', '10.0.0.2:8080'], port: 8080 })` from your own entry point.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { createStickyProxy } from 'sticky-node'

export interface Started {
  /** Where the app listens: `http://127.0.0.1:<port>`. */
  readonly url: string
  close(): Promise<void>
}

export function start(options: { peers: string[]; port?: number }): Promise<Started> {
  // A `(req, res)` handler with `.upgrade`: Express takes it as a middleware as it is.
  const proxy = createStickyProxy({
    peers: options.peers,
    cookie: { name: 'route', httpOnly: true, sameSite: 'Lax' },
  })

  const app = express()

  // The app's own routes. A body parser belongs on the routes that need it: mounted before the proxy
  // with `app.use`, it would read the request bodies the proxy has to stream to the peer.
  app.get('/health', (_req, res) => {
    res.json({ ok: true })
  })
  app.post('/echo', express.json(), (req, res) => {
    res.json({ echoed: req.body as unknown })
  })

  // Express strips the mount path: /api/users reaches the peer as /users (nginx's
  // `proxy_pass http://upstream/;`). To keep it, mount a handler that restores it:
  //   app.use('/api', (req, res) => { req.url = req.originalUrl; proxy(req, res) })
  app.use('/api', proxy)

  return new Promise((resolve) => {
    const server: Server = app.listen(options.port ?? 0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => {
              proxy.close() // the upstream keep-alive pools, once no request is left
              done()
            })
            server.closeAllConnections()
          }),
      })
    })
  })
}
