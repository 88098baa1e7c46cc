import { childFactory, runHostileClients, runHostilePeers, serveIfChild, type HostileBuild } from 'sticky-conformance/hostile'
import { listenProxy } from './_server'

/** The proxy on a real node:http server with `.upgrade`, in the process the kit runs it in. */
const build: HostileBuild = async (options) => {
  const proxy = {
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
  }
  const listening = await listenProxy({
    ...options.balancer,
    proxy,
    ...(options.throwingHook === true
      ? {
          onResponse: () => {
            throw new Error('a broken onResponse hook')
          },
        }
      : {}),
  })
  return { url: listening.url, close: () => listening.close(), balancer: listening.proxy.balancer }
}

// The proxy runs in a child process (this file, re-run by the kit): a crash fails the case with the
// child's own stack trace instead of killing the test runner.
if (!serveIfChild(build)) {
  const factory = childFactory(__filename)
  runHostilePeers('sticky-node', factory, { upgrade: true, onResponse: true })
  runHostileClients('sticky-node', factory)
}
