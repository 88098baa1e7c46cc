import { isDeepStrictEqual } from 'node:util'
import type { ServePlan } from './serve-plan'

/**
 * The first setting of `next` that a running `sticky-proxy` cannot take over without a restart, as a
 * config key (`listen`, `routes`, `routes[0].cookie`, ...), or undefined when a reload can apply the
 * change. A reload applies peers (`setPeers`: clients of unchanged peers keep their pins and peers
 * their health), the certificate files' contents, the log settings and the grace period; everything
 * else is fixed at start: the listener (address, TLS on or off, workers, metrics), the set of route
 * prefixes, and each route's cookie, hash/hmac/token, failover, proxy and health-check settings (a
 * change there would re-pin clients or rebuild the balancer and lose its health state).
 */
export function restartNeededFor(running: ServePlan, next: ServePlan): string | undefined {
  if (!isDeepStrictEqual(running.listen, next.listen)) return 'listen'
  if ((running.tls === undefined) !== (next.tls === undefined)) return 'tls'
  if (running.workers !== next.workers) return 'workers'
  if (!isDeepStrictEqual(running.metrics, next.metrics)) return 'metrics'
  const paths = (plan: ServePlan): string[] => plan.routes.map((route) => route.path)
  if (!isDeepStrictEqual(paths(running), paths(next))) return 'routes'
  for (const [index, route] of running.routes.entries()) {
    const { peers: _old, ...fixed } = route.options
    const { peers: _new, ...nextFixed } = next.routes[index]?.options ?? { peers: [] }
    const keys = new Set([...Object.keys(fixed), ...Object.keys(nextFixed)])
    for (const key of keys) {
      if (!isDeepStrictEqual((fixed as Record<string, unknown>)[key], (nextFixed as Record<string, unknown>)[key])) {
        return running.routes.length === 1 && route.path === '/' ? key : `routes[${index}].${key}`
      }
    }
  }
  return undefined
}

/** Peer ids of `before` missing from `after`, and those new in `after`, for the reload's log line. */
export function peerChanges(before: readonly string[], after: readonly string[]): { added: string[]; removed: string[] } {
  const was = new Set(before)
  const now = new Set(after)
  return { added: after.filter((id) => !was.has(id)), removed: before.filter((id) => !now.has(id)) }
}
