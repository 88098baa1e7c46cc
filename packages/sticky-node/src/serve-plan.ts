import type { ListenAddress } from './args'
import { balancerOptionsFrom, CliUsageError, parseCommandLine, readHmacKey, readTokenKeys } from './args'
import type { StickyProxyOptions } from './options'

/** One upstream group: requests whose path starts with `path` (segment boundary: `/api` matches `/api` and `/api/x`, not `/apix`; `/` matches all), each with its own balancer. */
export interface RoutePlan {
  readonly path: string
  /** Ready for `createStickyProxy` (keys already read from their files/env); hooks are the runner's. */
  readonly options: Omit<StickyProxyOptions, 'onResponse' | 'onError' | 'onAttempt' | 'onHealthChange'>
}

/** Everything one run of `sticky-proxy` serves, validated, with files and env already read. */
export interface ServePlan {
  readonly listen: ListenAddress
  /** PEM file paths (`--tls-cert`/`--tls-key` or `tls: { cert, key }`); the runner reads them (and re-reads on SIGHUP). */
  readonly tls: { readonly cert: string; readonly key: string } | undefined
  /** Longest path first; a run without `routes:` has exactly one, `/`. */
  readonly routes: readonly RoutePlan[]
  readonly log: { readonly format: 'text' | 'json'; readonly quiet: boolean }
  /** `--metrics HOST:PORT`; undefined: no metrics listener. */
  readonly metrics: ListenAddress | undefined
  /** Worker processes; 1 = no cluster. `auto` is resolved with `os.availableParallelism()`. */
  readonly workers: number
  /** Shutdown grace in milliseconds (default 10 000). */
  readonly grace: number
  /** The config file, re-read on SIGHUP; undefined when the run has none (SIGHUP then only reopens/reloads nothing and logs so). */
  readonly configFile: string | undefined
}

/** Everything `loadServePlan` needs from the outside world (tests inject these). */
export interface PlanIo {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly readFile: (path: string) => Buffer
  readonly cpus: () => number
}

/**
 * The command line (and the config file it names, with flags overriding the file) → a plan. Throws
 * `CliUsageError` (exit 2) whose message names the flag, or `FILE:LINE: key.path: reason` for the file.
 */
export function loadServePlan(argv: readonly string[], io: PlanIo): ServePlan {
  // First step: the flags of today only; the config file and the new flags follow.
  const command = parseCommandLine(argv)
  if (command.kind !== 'serve') throw new CliUsageError('command', `not a serve command line (${command.kind})`)
  const { config } = command
  const hmacKey = config.hmac === undefined ? undefined : readHmacKey(config.hmac.key, io)
  const tokenKeys = config.token === undefined ? undefined : readTokenKeys(config.token.keys, io)
  const options = {
    ...balancerOptionsFrom(config, hmacKey, tokenKeys),
    proxy: {
      ...(config.timeout === undefined ? {} : { timeout: config.timeout }),
      ...(config.retries === undefined ? {} : { retries: config.retries }),
    },
  }
  return {
    listen: config.listen,
    tls: undefined,
    routes: [{ path: '/', options }],
    log: { format: 'text', quiet: config.quiet },
    metrics: undefined,
    workers: 1,
    grace: 10_000,
    configFile: undefined,
  }
}

/** Longest matching prefix, by the segment-boundary rule above; undefined when none matches (the runner answers 404). */
export function routeFor<T extends { readonly path: string }>(routes: readonly T[], path: string): T | undefined {
  let best: T | undefined
  for (const route of routes) {
    const prefix = route.path.endsWith('/') ? route.path.slice(0, -1) : route.path
    const matches = path === prefix || path.startsWith(`${prefix}/`) || route.path === '/'
    if (matches && (best === undefined || route.path.length > best.path.length)) best = route
  }
  return best
}
