import { createSecureContext } from 'node:tls'
import { isDeepStrictEqual } from 'node:util'
import { StickyConfigError } from 'sticky-core'
import { CliUsageError, usageMessage } from './args'
import { loadServePlan, type PlanIo, type ServePlan } from './serve-plan'

/** What a SIGHUP read: the plan to apply (with the certificate pair, read once), or why nothing changes. */
export type ReloadReading =
  | { readonly ok: true; readonly plan: ServePlan; readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined }
  | { readonly ok: false; readonly message: string }

/**
 * Everything a reload checks before it changes anything, written once for the single process and
 * the cluster primary: the file is re-read through the same command line, nothing that needs a
 * restart changed ({@link restartNeededFor}), the plan loads (which checks every route's options), and the
 * certificate pair makes a TLS context. A reload then applies whole or not at all. Never throws: a
 * SIGHUP must not take the running proxy down.
 */
export function readReload(running: ServePlan, argv: readonly string[], io: PlanIo): ReloadReading {
  const where = running.configFile
  if (where === undefined) return { ok: false, message: 'no --config file to re-read; nothing changed' }
  let next: ServePlan
  try {
    next = loadServePlan(argv, io)
  } catch (error) {
    return { ok: false, message: errorLine(error) }
  }
  const fixed = restartNeededFor(running, next)
  if (fixed !== undefined) return { ok: false, message: `${where}: ${fixed}: changed, which needs a restart` }
  // The routes' options were checked by loadServePlan (it builds each route's proxy); the certificate
  // pair is what it leaves to the runner.
  const tls = next.tls === undefined ? undefined : readCertificatePair(next.tls, io)
  if (typeof tls === 'string') return { ok: false, message: `${where}: ${tls}` }
  return { ok: true, plan: next, tls }
}

/**
 * The certificate pair of `--tls-cert`/`--tls-key` (or the file's `tls`), each file read once, checked
 * to make a TLS context together; or the line that says which flag's file is unreadable or why the pair
 * is refused. Read at start and on every reload.
 */
export function readCertificatePair(
  tls: { readonly cert: string; readonly key: string },
  io: PlanIo,
): { readonly cert: Buffer; readonly key: Buffer } | string {
  const read = (flag: string, path: string): Buffer | string => {
    try {
      return io.readFile(path)
    } catch (error) {
      const code = (error as { code?: unknown }).code
      return `${flag}: cannot read ${JSON.stringify(path)}${typeof code === 'string' ? ` (${code})` : ''}`
    }
  }
  const cert = read('--tls-cert', tls.cert)
  if (typeof cert === 'string') return cert
  const key = read('--tls-key', tls.key)
  if (typeof key === 'string') return key
  try {
    createSecureContext({ cert, key })
    return { cert, key }
  } catch (error) {
    return `--tls-cert: ${errorLine(error)}`
  }
}

/** The one line an operator reads for a configuration or start-up error (a plan that does not load, a bad flag, a file gone). */
export function errorLine(error: unknown): string {
  if (error instanceof StickyConfigError) return usageMessage(error)
  if (error instanceof CliUsageError) return error.message
  return error instanceof Error ? error.message : String(error)
}

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
        return route.key === undefined ? key : `${route.key}.${key}`
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

/**
 * `io` reading `text` for the config file `file` and every other file from disk: a cluster worker
 * builds its plan from the text the primary accepted, not from the file as it is now (which may
 * have changed since, or be invalid), so that all workers serve the same configuration.
 */
export function withConfigText<T extends PlanIo>(io: T, file: string | undefined, text: string | undefined): T {
  if (file === undefined || text === undefined) return io
  return { ...io, readFile: (path: string) => (path === file ? Buffer.from(text, 'utf8') : io.readFile(path)) }
}

/** `io` that remembers the text it read for the config file `file` (the primary's, to pass on to its workers). */
export function recordingConfigText<T extends PlanIo>(io: T, file: string | undefined): { readonly io: T; text(): string | undefined } {
  let text: string | undefined
  const recording = {
    ...io,
    readFile: (path: string) => {
      const bytes = io.readFile(path)
      if (path === file) text = bytes.toString('utf8')
      return bytes
    },
  }
  return { io: recording, text: () => text }
}
