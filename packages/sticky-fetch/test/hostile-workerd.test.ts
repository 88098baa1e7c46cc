import { inProcessFactory, runHostileClients, runHostilePeers, type HostileBuild } from 'sticky-conformance/hostile'
import { startWorker } from './_workerd'

/**
 * The built handler inside the real workerd runtime (its own process), its options passed as a JSON
 * binding. The balancer lives in workerd: blame is observed black-box (a blamed peer is not used for a
 * client pinned to it).
 */
const build: HostileBuild = async (options) => {
  const proxy: Record<string, unknown> = { keepContentEncoding: true }
  if (options.retries !== undefined) proxy.retries = options.retries
  if (options.timeoutMs !== undefined) proxy.timeout = options.timeoutMs
  const worker = await startWorker({ MODE: 'options', OPTIONS: { ...options.balancer, proxy } })
  return { url: worker.url, close: () => worker.close() }
}

const factory = inProcessFactory(build)
runHostilePeers('sticky-fetch (workerd)', factory)
runHostileClients('sticky-fetch (workerd)', factory)
