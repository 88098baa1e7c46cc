import { parseDuration, parsePeerLine, pathOf, StickyConfigError, type PeerOptions, type StickyCookieOptions } from 'sticky-core'
import type { HmacKeySource, ListenAddress, ServeFlags } from './args'
import { CliUsageError, DEFAULT_LISTEN, flagForOption, ifDefined, MAX_WORKERS, parseListen, parseServeFlags, readHmacKey, readTokenKeys } from './args'
import { CONFIG_SPEC, checkSpec, type ConfigText, formatKeyPath, type KeyPath, parseConfigText } from './config-file'
import type { StickyProxyOptions } from './options'
import { createStickyProxy } from './proxy'
import { originForm } from './upstream'

/** One upstream group: requests whose path starts with `path` (segment boundary: `/api` matches `/api` and `/api/x`, not `/apix`; `/` matches all), each with its own balancer. */
export interface RoutePlan {
  readonly path: string
  /** Where the route stands in the config file (`routes[1]`), for messages; absent for the one route of a file or command line without `routes:`. */
  readonly key?: string | undefined
  /** Ready for `createStickyProxy` (keys already read from their files/env); hooks are the runner's. */
  readonly options: DistributiveOmit<StickyProxyOptions, 'onResponse' | 'onError' | 'onAttempt' | 'onHealthChange'>
}

/** `Omit` applied to each member of a union, so that the hash/hmac/token choice stays discriminated. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

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

/** The grace period when neither `--grace` nor `grace:` is given. */
export const DEFAULT_GRACE_MS = 10_000

type Json = Readonly<Record<string, unknown>>
type RouteOptions = RoutePlan['options']

/** Balancer keys a route inherits from the top level of the file (the trio hash/hmac/token as one choice). */
const INHERITED = ['cookie', 'failover', 'fallback', 'strictStatus', 'header', 'refresh', 'legacy', 'proxy', 'healthCheck'] as const
const COOKIE_MODES = ['hash', 'hmac', 'token'] as const

/**
 * The command line (and the config file it names, with flags overriding the file) → a plan. Throws
 * `CliUsageError` (exit 2) whose message names the flag, or `FILE:LINE: key.path: reason` for the file.
 *
 * Precedence: a flag replaces the file's value for every route (`--upstream` replaces the peers of a file
 * without `routes:`, and is refused with one); a route's own key replaces the top level's; an object key
 * (`cookie`, `proxy`, `healthCheck`) is merged key by key. The library's own validation runs here too
 * (the balancer, `proxy.*`, `healthCheck`), so that a plan that loads always starts.
 */
export function loadServePlan(argv: readonly string[], io: PlanIo): ServePlan {
  const flags = parseServeFlags(argv)
  const file = flags.config === undefined ? undefined : readConfig(flags.config, io)
  const top: Json = (file?.value as Json | undefined) ?? {}
  const at = (path: KeyPath, reason: string): CliUsageError =>
    file === undefined ? new CliUsageError('--config', reason) : new CliUsageError(`${file.file}:${file.lineOf(path)}`, `${formatKeyPath(path)}: ${reason}`)

  // Routes as the file gives them, each with its path in the file for errors.
  let routes: { path: string; at: KeyPath; spec: Json }[]
  if (Array.isArray(top.routes)) {
    if (flags.peers !== undefined)
      throw new CliUsageError('--upstream', `cannot replace the peers of ${flags.config ?? 'the file'}, which has routes: (set each route's peers in the file)`)
    routes = (top.routes as Json[]).map((spec, index) => ({ path: spec.path as string, at: ['routes', index], spec: inherit(top, spec) }))
  } else {
    const peers = flags.peers ?? top.peers
    if (peers === undefined)
      throw new CliUsageError('--upstream', `at least one is required, e.g. --upstream 127.0.0.1:9001 (or peers: in ${flags.config ?? 'the file'})`)
    routes = [{ path: '/', at: [], spec: { ...top, peers } }]
  }
  const seenPaths = new Map<string, number>()
  for (const [index, route] of routes.entries()) {
    const before = seenPaths.get(normalisePath(route.path))
    if (before !== undefined) throw at([...route.at, 'path'], `${JSON.stringify(route.path)} is also the path of routes[${before}]`)
    seenPaths.set(normalisePath(route.path), index)
  }

  const plans = routes.map((route) => ({
    path: route.path,
    at: route.at,
    options: routeOptions(route.spec, route.at, flags, io, at),
  }))
  refuseCollidingCookies(plans, at)
  for (const plan of plans) validate(plan.options, plan.at, argv, file !== undefined, at)

  const log = (top.log as Json | undefined) ?? {}
  const tlsFile = top.tls as { cert: string; key: string } | undefined
  const listen = flags.listen ?? (top.listen === undefined ? DEFAULT_LISTEN : fileListen(top.listen, ['listen'], at))
  const workers = flags.workers ?? (top.workers as number | 'auto' | undefined) ?? 1
  return {
    listen,
    tls: flags.tls ?? (tlsFile === undefined ? undefined : { cert: tlsFile.cert, key: tlsFile.key }),
    routes: plans
      .map(({ path, at, options }) => ({ path, options, ...(at.length === 0 ? {} : { key: formatKeyPath(at) }) }))
      .sort((a, b) => b.path.length - a.path.length),
    log: {
      format: flags.logFormat ?? (log.format as 'text' | 'json' | undefined) ?? 'text',
      quiet: flags.quiet ?? (log.quiet as boolean | undefined) ?? false,
    },
    metrics: flags.metrics ?? (top.metrics === undefined ? undefined : fileListen(top.metrics, ['metrics'], at)),
    workers: workers === 'auto' ? Math.max(1, Math.min(MAX_WORKERS, io.cpus())) : workers,
    grace: flags.grace ?? (top.grace === undefined ? DEFAULT_GRACE_MS : typeof top.grace === 'number' ? top.grace : parseDuration(String(top.grace), 'grace')),
    configFile: flags.config,
  }
}

function readConfig(path: string, io: PlanIo): ConfigText {
  let text: string
  try {
    text = io.readFile(path).toString('utf8')
  } catch (error) {
    const code = (error as { code?: unknown }).code
    throw new CliUsageError('--config', `cannot read ${JSON.stringify(path)}${typeof code === 'string' ? ` (${code})` : ''}`)
  }
  const parsed = parseConfigText(path, text)
  const issue = checkSpec(parsed.value, CONFIG_SPEC)
  if (issue !== undefined) throw new CliUsageError(`${path}:${parsed.lineOf(issue.path)}`, `${formatKeyPath(issue.path) || '(top)'}: ${issue.reason}`)
  const value = parsed.value as Json
  if (value.peers !== undefined && value.routes !== undefined) {
    throw new CliUsageError(`${path}:${parsed.lineOf(['routes'])}`, 'routes: peers and routes exclude each other (move the peers into a route with path: /)')
  }
  return parsed
}

/** A route's spec with the top level's balancer keys as defaults (objects merged key by key). */
function inherit(top: Json, route: Json): Json {
  const merged: Record<string, unknown> = { ...route }
  for (const key of INHERITED) {
    const base = top[key]
    if (base === undefined) continue
    const own = route[key]
    merged[key] = own === undefined ? base : isRecord(base) && isRecord(own) ? { ...base, ...own } : own
  }
  // hash, hmac and token are one choice: a route that makes it inherits none of the top level's.
  if (!COOKIE_MODES.some((key) => route[key] !== undefined)) for (const key of COOKIE_MODES) if (top[key] !== undefined) merged[key] = top[key]
  // failover and its older spelling fallback are one choice too.
  if (route.failover !== undefined && route.fallback === undefined) delete merged.fallback
  if (route.fallback !== undefined && route.failover === undefined) delete merged.failover
  return merged
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

type At = (path: KeyPath, reason: string) => CliUsageError

/** One route's options for `createStickyProxy`: the file's spec, the flags over it, the keys read. */
function routeOptions(spec: Json, where: KeyPath, flags: ServeFlags, io: PlanIo, at: At): RouteOptions {
  const peers = (spec.peers as unknown[]).map((entry, index) => {
    const peer = typeof entry === 'string' ? peerLine(entry, [...where, 'peers', index], at) : { ...(entry as PeerOptions) }
    if (peer.maxFails === undefined && flags.peerDefaults.maxFails !== undefined) peer.maxFails = flags.peerDefaults.maxFails
    if (peer.failTimeout === undefined && flags.peerDefaults.failTimeout !== undefined) peer.failTimeout = flags.peerDefaults.failTimeout
    return peer
  })

  const cookie = { ...((spec.cookie as StickyCookieOptions | undefined) ?? {}), ...flags.cookie }
  const base: Record<string, unknown> = { peers, ...(Object.keys(cookie).length > 0 ? { cookie } : {}) }
  for (const key of ['strictStatus', 'header', 'refresh', 'legacy'] as const) if (spec[key] !== undefined) base[key] = spec[key]
  const flagged = { strictStatus: flags.strictStatus, header: flags.routeHeader, refresh: flags.refresh, legacy: flags.legacy }
  for (const [key, value] of Object.entries(flagged)) if (value !== undefined) base[key] = value
  if (flags.failover !== undefined || flags.fallback !== undefined) {
    if (flags.failover !== undefined) base.failover = flags.failover
    else base.fallback = flags.fallback
  } else {
    if (spec.failover !== undefined) base.failover = spec.failover
    if (spec.fallback !== undefined) base.fallback = spec.fallback
  }

  // hash | hmac | token: a flag for one of them replaces the file's choice.
  const flagMode = flags.token !== undefined || flags.hmac !== undefined || flags.hash !== undefined
  if (flags.token !== undefined) {
    const { keys, maxAge, idle, skew } = flags.token
    base.token = { keys: readTokenKeys(keys, io), ...ifDefined('maxAge', maxAge), ...ifDefined('idle', idle), ...ifDefined('skew', skew) }
    if (base.legacy === true) throw new CliUsageError('--token-keys-file', 'cannot be combined with legacy: with tokens the cookie value is a signed token')
  } else if (flags.hmac !== undefined) {
    base.hmac = { algorithm: flags.hmac.algorithm, key: readHmacKey(flags.hmac.key, io) }
  } else if (flags.hash !== undefined) {
    base.hash = flags.hash
  }
  if (!flagMode) {
    if (spec.hash !== undefined) base.hash = spec.hash
    const hmac = spec.hmac as Json | undefined
    if (hmac !== undefined) base.hmac = { algorithm: hmac.algorithm, key: fileSecret(hmac, 'keyFile', 'keyEnv', [...where, 'hmac'], io, at, readHmacKey) }
    const token = spec.token as Json | undefined
    if (token !== undefined) {
      const keys = fileSecret(token, 'keysFile', 'keysEnv', [...where, 'token'], io, at, readTokenKeys)
      base.token = { keys, ...ifDefined('maxAge', token.maxAge), ...ifDefined('idle', token.idle), ...ifDefined('skew', token.skew) }
    }
  }

  const proxy: Record<string, unknown> = { requestId: true, ...((spec.proxy as Json | undefined) ?? {}) }
  const proxyFlags = { timeout: flags.timeout, retries: flags.retries, trustProxy: flags.trustProxy, xForwarded: flags.xForwarded, requestId: flags.requestId }
  for (const [key, value] of Object.entries(proxyFlags)) if (value !== undefined) proxy[key] = value
  base.proxy = proxy

  const health = { ...((spec.healthCheck as Json | undefined) ?? {}), ...flags.healthCheck }
  if (Object.keys(health).length > 0) {
    if (health.path === undefined) {
      const given = Object.keys(flags.healthCheck)[0] ?? 'interval'
      throw new CliUsageError(`--health-${given === 'path' ? 'check' : given}`, 'needs --health-check PATH (or healthCheck.path in the file)')
    }
    base.healthCheck = health
  }
  return base as unknown as RouteOptions
}

function peerLine(line: string, path: KeyPath, at: At): PeerOptions {
  try {
    return parsePeerLine(line, formatKeyPath(path))
  } catch (error) {
    if (error instanceof StickyConfigError) throw at(path, error.reason)
    throw error
  }
}

/** A key read from a file or an environment variable the config file names (never the config file itself). */
function fileSecret<T>(spec: Json, fileKey: string, envKey: string, where: KeyPath, io: PlanIo, at: At, read: (source: HmacKeySource, reader: PlanIo) => T): T {
  const path = spec[fileKey] as string | undefined
  const name = spec[envKey] as string | undefined
  if ((path === undefined) === (name === undefined)) throw at(where, `expected one of ${fileKey} or ${envKey}`)
  try {
    return read(path !== undefined ? { kind: 'file', path } : { kind: 'env', name: name ?? '' }, io)
  } catch (error) {
    if (error instanceof CliUsageError) throw at([...where, path !== undefined ? fileKey : envKey], error.reason)
    throw error
  }
}

function fileListen(value: unknown, path: KeyPath, at: At): ListenAddress {
  try {
    return parseListen(String(value))
  } catch (error) {
    if (error instanceof CliUsageError) throw at(path, error.reason)
    throw error
  }
}

function normalisePath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}

/** Whether a browser would send both cookies on one request: the same name, and one path a prefix of the other. */
function refuseCollidingCookies(plans: readonly { path: string; at: KeyPath; options: RouteOptions }[], at: At): void {
  const cookieOf = (options: RouteOptions): { name: string; path: string; domain: string } => ({
    name: options.cookie?.name ?? 'route',
    path: options.cookie?.path ?? '/',
    domain: (options.cookie?.domain ?? '').toLowerCase(),
  })
  const overlap = (a: string, b: string): boolean => {
    const [short, long] = a.length <= b.length ? [normalisePath(a), normalisePath(b)] : [normalisePath(b), normalisePath(a)]
    return short === '/' || long === short || long.startsWith(`${short}/`)
  }
  for (const [j, later] of plans.entries()) {
    for (const earlier of plans.slice(0, j)) {
      const a = cookieOf(earlier.options)
      const b = cookieOf(later.options)
      if (a.name === b.name && a.domain === b.domain && overlap(a.path, b.path)) {
        throw at(
          [...later.at, 'cookie', 'name'],
          `cookie ${JSON.stringify(b.name)} (path ${b.path}) is also the cookie of ${formatKeyPath(earlier.at) || 'the top level'} (path ${a.path}): a browser would send both; give each route its own cookie.name (or disjoint cookie.path)`,
        )
      }
    }
  }
}

/**
 * The library's own checks, with its error mapped back: to the file's line when the value came from the
 * file, to the flag otherwise. A proxy is created and closed at once: nothing listens or connects.
 */
function validate(options: RouteOptions, where: KeyPath, argv: readonly string[], hasFile: boolean, at: At): void {
  try {
    createStickyProxy(options).close()
  } catch (error) {
    if (!(error instanceof StickyConfigError)) throw error
    const flag =
      flagForOption(error.option) ??
      PROXY_FLAGS.get(error.option.replace(/\..*$|^proxy\.(\w+).*$/, (_, key?: string) => (key === undefined ? '' : `proxy.${key}`)))
    const given = flag !== undefined && argv.some((arg) => arg === flag || arg.startsWith(`${flag}=`))
    // A file line names the key already; a flag keeps the library's option and value, which say which
    // of several values (say the second --upstream) is refused.
    if (hasFile && !given) throw at([...where, ...optionPath(error.option)], error.reason)
    throw new CliUsageError(flag ?? error.option, error.message.replace(/^sticky: /, ''))
  }
}

/** Flags of the options `flagForOption` does not know (the transport's and the health check's). */
const PROXY_FLAGS: ReadonlyMap<string, string> = new Map([
  ['proxy.timeout', '--timeout'],
  ['proxy.retries', '--retries'],
  ['proxy.trustProxy', '--trust-proxy'],
  ['proxy.xForwarded', '--no-x-forwarded'],
  ['proxy.requestId', '--no-request-id'],
  ['healthCheck', '--health-check'],
])

/** `peers[2].weight` → ['peers', 2, 'weight']. */
function optionPath(option: string): KeyPath {
  const parts: (string | number)[] = []
  for (const match of option.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) parts.push(match[2] !== undefined ? Number(match[2]) : (match[1] ?? ''))
  return parts
}

/**
 * The path a request is routed by: the path sent upstream (an absolute-form target's own path, so
 * that `GET http://x/api/a` takes the `/api` route), without its query, and with its dot-segments
 * (`.`, `..`, also percent-encoded) resolved as a peer that normalises its paths reads them: so
 * `/api/../admin` is routed as `/admin` and cannot reach the `/api` group's peers with another path.
 */
export function routingPath(url: string | undefined): string {
  const path = pathOf(originForm(url))
  if (!path.startsWith('/') || !/\.|%2e/i.test(path)) return path
  const kept: string[] = []
  const segments = path.slice(1).split('/')
  for (const [index, segment] of segments.entries()) {
    const dots = segment.replace(/%2e/gi, '.')
    const last = index === segments.length - 1
    if (dots === '.' || dots === '..') {
      if (dots === '..') kept.pop()
      // A dot-segment at the end leaves a directory: `/a/b/..` is `/a/`.
      if (last) kept.push('')
      continue
    }
    kept.push(segment)
  }
  return `/${kept.join('/')}`
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
