import { childFactory, runHostileClients, runHostilePeers, serveIfChild, type HostileBuild } from 'sticky-conformance/hostile'
import { createStickyFetch } from '../src/index'
import { serveFetch } from './_servers'

/** The handler behind a node:http server (Node's fetch upstream); the client address comes from the socket. */
const build: HostileBuild = async (options) => {
  const handler = createStickyFetch({
    ...options.balancer,
    proxy: {
      ...(options.retries === undefined ? {} : { retries: options.retries }),
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      clientAddress: (_request, env) => (env as { remoteAddress?: string }).remoteAddress,
    },
  })
  const server = await serveFetch(handler)
  return { url: server.url, close: () => server.close(), balancer: handler.balancer }
}

// The handler runs in a child process (this file, re-run by the kit): a crash fails the case with the
// child's own stack trace instead of killing the test runner. Its upstream connections live in Node's
// global fetch pool, which no handler closes.
if (!serveIfChild(build)) {
  const factory = childFactory(__filename)
  runHostilePeers('sticky-fetch (node fetch)', factory, {
    closesPool: false,
    limits: {
      'refuses-interim-100': "undici's HTTP/1.1 client closes the connection on any interim 100 ('bad response'), whatever its options",
      'bare-cr-ends-line':
        "undici's parser ends the status line at a bare CR and reads the rest of the head as a body delimited by the close; the client's framing stays valid",
      'early-answer-lost-to-reset':
        "Node's fetch (undici) writes the upload on while the peer's answer waits to be read, and a write that meets the peer's reset destroys the connection with the answer unread: under load a 413 followed by a reset can end as 502 (never blamed)",
    },
  })
  runHostileClients('sticky-fetch (node fetch)', factory, { closesPool: false })
}
