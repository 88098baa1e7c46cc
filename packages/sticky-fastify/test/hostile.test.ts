import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { createBalancer } from 'sticky-core'
import { childFactory, runHostileClients, runHostilePeers, serveIfChild, type HostileBuild } from 'sticky-conformance/hostile'
import { stickyProxy } from '../src/index'

/**
 * The plugin on a Fastify app, given a balancer the kit can read the peers' health from. Closing the
 * app cuts every connection (`forceCloseConnections`), so that a hung exchange cannot hold it open.
 */
const build: HostileBuild = async (options) => {
  const balancer = createBalancer(options.balancer)
  const app = Fastify({ logger: false, forceCloseConnections: true })
  try {
    await app.register(stickyProxy, {
      balancer,
      proxy: {
        ...(options.retries === undefined ? {} : { retries: options.retries }),
        ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      },
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
  } catch (error) {
    await app.close()
    throw error
  }
  const { port } = app.server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, close: () => app.close(), balancer }
}

// The app runs in a child process (this file, re-run by the kit): a crash fails the case with the
// child's own stack trace instead of killing the test runner.
if (!serveIfChild(build)) {
  const factory = childFactory(__filename)
  runHostilePeers('sticky-fastify', factory, {
    limits: {
      'refuses-interim-100':
        "undici's HTTP/1.1 client (reply-from's default transport) closes the connection on any interim 100 ('bad response'), whatever its options; node:http's transport (replyFrom: { http: {} }) takes it",
      'early-answer-lost-to-reset':
        "undici writes the upload on while the peer's answer waits to be read, and a write that meets the peer's reset destroys the socket with the answer unread: a 413 followed by a reset may end as 502 (never blamed: peer-closed-during-upload)",
    },
  })
  runHostileClients('sticky-fastify', factory)
}
