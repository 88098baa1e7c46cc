import { parseArgs } from 'node:util'
import { parseDuration, parseTokenKeys as readKeys, parseTrustList, StickyConfigError } from 'sticky-core'
import type { FailoverRule, HashMode, HmacAlgorithm, PeerOptions, SameSite, StickyCookieOptions, TokenKey } from 'sticky-core'

/**
 * A bad flag or flag value. Its message is one line that starts with the flag (`--timeout: expected ...`);
 * the command line prints it after `sticky-proxy: ` and exits with code 2.
 */
export class CliUsageError extends Error {
  /** The flag at fault as the user would type it, e.g. `--fail-timeout`, or `command` for a positional. */
  readonly flag: string
  /** The message without the flag in front, for a caller that names the setting its own way (a file line). */
  readonly reason: string

  constructor(flag: string, reason: string) {
    super(`${flag}: ${reason}`)
    this.name = 'CliUsageError'
    this.flag = flag
    this.reason = reason
  }
}

/** Where the proxy listens. */
export interface ListenAddress {
  /** @default '127.0.0.1' (loopback: a proxy is never exposed to the network by accident) */
  readonly host: string
  /** 0 asks the system for a free port; the bound address is printed on start. @default 8080 */
  readonly port: number
}

/** Where the HMAC key comes from. Never argv: it would show in `ps` and in shell history. */
export type HmacKeySource = { readonly kind: 'env'; readonly name: string } | { readonly kind: 'file'; readonly path: string }

/** Where the pin-token keys come from (`--token-keys-env` or `--token-keys-file`). Never argv, as for the HMAC key. */
export type TokenKeysSource = HmacKeySource

/** `--token-*`: pin tokens, with the source of their keys and their lifetimes in whole seconds. */
export interface TokenConfig {
  readonly keys: TokenKeysSource
  /** `--token-max-age` in seconds; `undefined`: no limit. */
  readonly maxAge: number | undefined
  /** `--token-idle` in seconds; `undefined`: no limit. */
  readonly idle: number | undefined
  /** `--token-skew` in seconds; `undefined` keeps the balancer's default, 30. */
  readonly skew: number | undefined
}

/** `--health-*`: the active health check's settings given as flags (`path` by `--health-check`). */
export interface HealthCheckFlags {
  readonly path?: string
  /** Milliseconds. */
  readonly interval?: number
  /** Milliseconds. */
  readonly timeout?: number
  /** As written: `200`, `200-399`, `200,204,300-399`; the library reads it. */
  readonly expect?: string
  readonly rises?: number
  readonly falls?: number
}

/**
 * The serve command's flags, each validated on its own, before any I/O. A field is `undefined` (or an
 * empty object) when its flag is absent, so that a config file can supply it: flags override the file.
 */
export interface ServeFlags {
  /** `--config FILE`. */
  readonly config: string | undefined
  readonly listen: ListenAddress | undefined
  /** One entry per `--upstream`; `undefined` without any. */
  readonly peers: readonly PeerOptions[] | undefined
  /** `--max-fails` and `--fail-timeout` (ms): defaults for every peer that sets none. */
  readonly peerDefaults: UpstreamDefaults
  /** `--cookie-*`, `--secure`, `--http-only`, `--same-site`, `--partitioned`: only the flags given. */
  readonly cookie: StickyCookieOptions
  readonly hash: HashMode | undefined
  readonly hmac: { readonly algorithm: HmacAlgorithm; readonly key: HmacKeySource } | undefined
  readonly token: TokenConfig | undefined
  /** `false` with `--no-fallback`. */
  readonly fallback: false | undefined
  readonly failover: FailoverRule | undefined
  readonly strictStatus: 502 | 503 | undefined
  readonly routeHeader: string | undefined
  readonly refresh: 'assign' | 'always' | undefined
  /** `true` with `--legacy`. */
  readonly legacy: true | undefined
  /** Milliseconds (`--timeout`). */
  readonly timeout: number | undefined
  readonly retries: number | undefined
  /** `--trust-proxy LIST` as written (the library reads the list). */
  readonly trustProxy: string | undefined
  /** `false` with `--no-x-forwarded`. */
  readonly xForwarded: false | undefined
  /** `false` with `--no-request-id`. */
  readonly requestId: false | undefined
  readonly healthCheck: HealthCheckFlags
  /** `--tls-cert` and `--tls-key` (both or neither). */
  readonly tls: { readonly cert: string; readonly key: string } | undefined
  readonly logFormat: 'text' | 'json' | undefined
  /** `true` with `--quiet`. */
  readonly quiet: true | undefined
  readonly metrics: ListenAddress | undefined
  /** A count, or `auto` (one per available core, resolved by the loader). */
  readonly workers: number | 'auto' | undefined
  /** Milliseconds (`--grace`). */
  readonly grace: number | undefined
}

/** What the command line asks for. */
export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'demo' }
  /** Run the proxy: {@link loadServePlan} (serve-plan.ts) reads `argv`, the config file it names and the keys. */
  | { readonly kind: 'serve'; readonly argv: readonly string[] }

/** Listen address when `--listen` is absent. */
export const DEFAULT_LISTEN: ListenAddress = { host: '127.0.0.1', port: 8080 }

const BOOLEAN_FLAGS = ['secure', 'http-only', 'partitioned', 'no-fallback', 'legacy', 'quiet', 'no-x-forwarded', 'no-request-id', 'help', 'version'] as const
const VALUE_FLAGS = [
  'listen',
  'upstream',
  'cookie-name',
  'cookie-path',
  'cookie-domain',
  'cookie-expires',
  'same-site',
  'hash',
  'hmac',
  'hmac-key-env',
  'hmac-key-file',
  'token-keys-env',
  'token-keys-file',
  'token-max-age',
  'token-idle',
  'token-skew',
  'failover',
  'strict-status',
  'route-header',
  'refresh',
  'max-fails',
  'fail-timeout',
  'timeout',
  'retries',
  'config',
  'tls-cert',
  'tls-key',
  'trust-proxy',
  'health-check',
  'health-interval',
  'health-timeout',
  'health-expect',
  'health-rises',
  'health-falls',
  'log-format',
  'metrics',
  'workers',
  'grace',
] as const
type BooleanFlag = (typeof BOOLEAN_FLAGS)[number]
type ValueFlag = (typeof VALUE_FLAGS)[number]

const SHORT_FLAGS: ReadonlyMap<string, BooleanFlag> = new Map([
  ['h', 'help'],
  ['v', 'version'],
])

// Non-strict parseArgs treats an undeclared flag as boolean, so every flag is declared for its value to be read;
// the validation that strict mode would do happens below, with messages that name the flag.
const PARSE_OPTIONS = Object.fromEntries([
  ...BOOLEAN_FLAGS.map((flag) => [flag, { type: 'boolean' as const }] as const),
  ...VALUE_FLAGS.map((flag) => [flag, { type: 'string' as const }] as const),
  ['hmac-key', { type: 'string' as const }],
  ...[...SHORT_FLAGS].map(([short, flag]) => [flag, { type: 'boolean' as const, short }] as const),
])

const HASH_MODES: readonly HashMode[] = ['md5', 'sha1', 'index', 'raw']
const HMAC_ALGORITHMS: readonly HmacAlgorithm[] = ['md5', 'sha1', 'sha256']
const FAILOVER_RULES: readonly FailoverRule[] = ['repin', 'temporary', 'strict', 'persist']
const SAME_SITE: ReadonlyMap<string, SameSite> = new Map([
  ['strict', 'Strict'],
  ['lax', 'Lax'],
  ['none', 'None'],
])

/**
 * Parses `sticky-proxy`'s arguments (without `node` and the script path). Pure: it reads no file and no
 * environment; the HMAC key is returned as a {@link HmacKeySource} for {@link readHmacKey}.
 *
 * @throws {@link CliUsageError} for an unknown flag, a missing or malformed value, or flags that conflict.
 */
export function parseCommandLine(argv: readonly string[]): CliCommand {
  const { tokens } = parseArgs({ args: [...argv], options: PARSE_OPTIONS, strict: false, allowPositionals: true, tokens: true })
  // Help and version win over every other flag, even a bad one: asking how to fix a command line must work.
  for (const token of tokens) {
    if (token.kind === 'option' && flagOf(token) === 'help' && token.inlineValue !== true) return { kind: 'help' }
  }
  for (const token of tokens) {
    if (token.kind === 'option' && flagOf(token) === 'version' && token.inlineValue !== true) return { kind: 'version' }
  }
  const { booleans, values, positionals } = tokenize(argv)
  const [command, ...extra] = positionals
  if (extra.length > 0) throw new CliUsageError('command', `unexpected argument ${JSON.stringify(extra[0])}`)
  if (command === 'demo') {
    const first = [...booleans, ...values.keys()][0]
    if (first !== undefined) throw new CliUsageError(`--${first}`, 'the demo takes no flags')
    return { kind: 'demo' }
  }
  if (command !== undefined) {
    throw new CliUsageError('command', `unknown command ${JSON.stringify(command)} (the only command is "demo"; see sticky-proxy --help)`)
  }
  // Every flag is checked now, so that a bad command line fails before any file is read.
  serveFlags(booleans, values)
  return { kind: 'serve', argv: [...argv] }
}

interface Tokens {
  readonly booleans: ReadonlySet<BooleanFlag>
  readonly values: ReadonlyMap<ValueFlag, readonly string[]>
  readonly positionals: readonly string[]
}

function flagOf(token: { rawName: string; name: string }): string | undefined {
  return token.rawName.startsWith('--') ? token.name : SHORT_FLAGS.get(token.rawName.slice(1))
}

/** The flags and positionals of `argv`, each flag known, given once (but `--upstream`) and with a value if it takes one. */
function tokenize(argv: readonly string[]): Tokens {
  const { tokens } = parseArgs({ args: [...argv], options: PARSE_OPTIONS, strict: false, allowPositionals: true, tokens: true })
  const booleans = new Set<BooleanFlag>()
  const values = new Map<ValueFlag, string[]>()
  const positionals: string[] = []
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue
    if (token.kind === 'positional') {
      positionals.push(token.value)
      continue
    }
    const flag = flagOf(token)
    if (flag === 'hmac-key') {
      throw new CliUsageError('--hmac-key', 'a key on the command line leaks into ps and shell history; use --hmac-key-env NAME or --hmac-key-file PATH')
    }
    if (isBooleanFlag(flag)) {
      if (token.inlineValue === true) throw new CliUsageError(`--${flag}`, `takes no value, got ${JSON.stringify(token.value)}`)
      if (booleans.has(flag)) throw new CliUsageError(`--${flag}`, 'given more than once')
      booleans.add(flag)
      continue
    }
    if (isValueFlag(flag)) {
      const value = token.value
      // parseArgs (non-strict) takes the next argument whatever it is; a flag there means the value is missing.
      if (value === undefined || (token.inlineValue !== true && value.startsWith('-'))) {
        throw new CliUsageError(`--${flag}`, 'expected a value')
      }
      const list = values.get(flag)
      if (list === undefined) values.set(flag, [value])
      else if (flag === 'upstream') list.push(value)
      else throw new CliUsageError(`--${flag}`, 'given more than once')
      continue
    }
    throw new CliUsageError(token.rawName, 'unknown flag (see sticky-proxy --help)')
  }
  return { booleans, values, positionals }
}

/**
 * The serve command's flags, each checked on its own (`--config` may supply what the flags leave out).
 *
 * @throws {@link CliUsageError} as {@link parseCommandLine}; also for `help`, `version` or `demo` command lines
 */
export function parseServeFlags(argv: readonly string[]): ServeFlags {
  const { booleans, values, positionals } = tokenize(argv)
  if (positionals.length > 0) throw new CliUsageError('command', `unexpected argument ${JSON.stringify(positionals[0])}`)
  if (booleans.has('help') || booleans.has('version')) throw new CliUsageError(booleans.has('help') ? '--help' : '--version', 'not a serve flag')
  return serveFlags(booleans, values)
}

function serveFlags(booleans: ReadonlySet<BooleanFlag>, values: ReadonlyMap<ValueFlag, readonly string[]>): ServeFlags {
  const one = (flag: ValueFlag): string | undefined => values.get(flag)?.[0]

  const maxFails = optional(one('max-fails'), (v) => parseCount('--max-fails', v))
  const failTimeout = optional(one('fail-timeout'), (v) => parseDurationFlag('--fail-timeout', v))
  const config = one('config')
  const upstreams = values.get('upstream') ?? []
  if (upstreams.length === 0 && config === undefined) {
    throw new CliUsageError('--upstream', 'at least one is required, e.g. --upstream 127.0.0.1:9001 (or --config FILE)')
  }
  const peers = upstreams.length === 0 ? undefined : upstreams.map((text) => parseUpstream(text, { maxFails, failTimeout }))

  const hash = optional(one('hash'), (v) => parseChoice('--hash', v, HASH_MODES))
  const algorithm = optional(one('hmac'), (v) => parseChoice('--hmac', v, HMAC_ALGORITHMS))
  const keyEnv = one('hmac-key-env')
  const keyFile = one('hmac-key-file')
  if (hash !== undefined && algorithm !== undefined) throw new CliUsageError('--hmac', 'cannot be combined with --hash (choose one)')
  if (keyEnv !== undefined && keyFile !== undefined) throw new CliUsageError('--hmac-key-file', 'cannot be combined with --hmac-key-env (choose one)')
  let hmac: ServeFlags['hmac']
  if (algorithm !== undefined) {
    if (keyEnv !== undefined) hmac = { algorithm, key: { kind: 'env', name: keyEnv } }
    else if (keyFile !== undefined) hmac = { algorithm, key: { kind: 'file', path: keyFile } }
    else throw new CliUsageError('--hmac', 'needs a key: --hmac-key-env NAME or --hmac-key-file PATH')
  } else if (keyEnv !== undefined || keyFile !== undefined) {
    throw new CliUsageError(keyEnv !== undefined ? '--hmac-key-env' : '--hmac-key-file', 'needs --hmac md5|sha1|sha256')
  }

  const token = tokenConfig(values)
  if (token !== undefined) {
    const tokenFlag = (['token-keys-file', 'token-keys-env', 'token-max-age', 'token-idle', 'token-skew'] as const).find((flag) => values.has(flag))
    const other = hash !== undefined ? '--hash' : algorithm !== undefined ? '--hmac' : booleans.has('legacy') ? '--legacy' : undefined
    if (other !== undefined) {
      throw new CliUsageError(
        `--${tokenFlag ?? 'token-keys-file'}`,
        `cannot be combined with ${other}: with tokens the cookie value is a signed token, not a digest`,
      )
    }
  }

  const failover = optional(one('failover'), (v) => parseChoice('--failover', v, FAILOVER_RULES))
  if (failover !== undefined && booleans.has('no-fallback')) {
    throw new CliUsageError('--failover', 'cannot be combined with --no-fallback (its older spelling of --failover strict; choose one)')
  }
  const strictStatus = optional(one('strict-status'), (v) => {
    if (v !== '502' && v !== '503') throw new CliUsageError('--strict-status', `expected 502 or 503; got ${JSON.stringify(v)}`)
    return v === '502' ? 502 : 503
  })
  if (strictStatus !== undefined && failover !== 'strict' && !booleans.has('no-fallback')) {
    throw new CliUsageError('--strict-status', 'applies to --failover strict only')
  }

  const sameSite = optional(one('same-site'), (v) => {
    const mapped = SAME_SITE.get(v.toLowerCase())
    if (mapped === undefined) throw new CliUsageError('--same-site', `expected strict, lax or none, got ${JSON.stringify(v)}`)
    return mapped
  })
  const cookie: StickyCookieOptions = {
    ...ifDefined('name', one('cookie-name')),
    ...ifDefined('path', one('cookie-path')),
    ...ifDefined('domain', one('cookie-domain')),
    ...ifDefined('expires', optional(one('cookie-expires'), parseCookieExpires)),
    ...(booleans.has('secure') ? { secure: true } : {}),
    ...(booleans.has('http-only') ? { httpOnly: true } : {}),
    ...ifDefined('sameSite', sameSite),
    ...(booleans.has('partitioned') ? { partitioned: true } : {}),
  }

  const timeout = optional(one('timeout'), (v) => parseDurationFlag('--timeout', v))

  const tlsCert = one('tls-cert')
  const tlsKey = one('tls-key')
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new CliUsageError(tlsCert === undefined ? '--tls-key' : '--tls-cert', 'needs --tls-cert FILE and --tls-key FILE together')
  }

  const healthCheck: HealthCheckFlags = {
    ...ifDefined('path', optional(one('health-check'), parseHealthPath)),
    ...ifDefined(
      'interval',
      optional(one('health-interval'), (v) => parsePositiveDuration('--health-interval', v)),
    ),
    ...ifDefined(
      'timeout',
      optional(one('health-timeout'), (v) => parsePositiveDuration('--health-timeout', v)),
    ),
    ...ifDefined('expect', optional(one('health-expect'), parseHealthExpect)),
    ...ifDefined(
      'rises',
      optional(one('health-rises'), (v) => parsePositiveCount('--health-rises', v)),
    ),
    ...ifDefined(
      'falls',
      optional(one('health-falls'), (v) => parsePositiveCount('--health-falls', v)),
    ),
  }

  return {
    config,
    listen: optional(one('listen'), parseListen),
    peers,
    peerDefaults: { maxFails, failTimeout },
    cookie,
    hash,
    hmac,
    token,
    fallback: booleans.has('no-fallback') ? false : undefined,
    failover,
    strictStatus,
    routeHeader: one('route-header'),
    refresh: optional(one('refresh'), (v) => parseChoice('--refresh', v, ['assign', 'always'] as const)),
    legacy: booleans.has('legacy') ? true : undefined,
    timeout,
    retries: optional(one('retries'), (v) => parseCount('--retries', v)),
    trustProxy: optional(one('trust-proxy'), parseTrustProxy),
    xForwarded: booleans.has('no-x-forwarded') ? false : undefined,
    requestId: booleans.has('no-request-id') ? false : undefined,
    healthCheck,
    tls: tlsCert === undefined || tlsKey === undefined ? undefined : { cert: tlsCert, key: tlsKey },
    logFormat: optional(one('log-format'), (v) => parseChoice('--log-format', v, ['text', 'json'] as const)),
    quiet: booleans.has('quiet') ? true : undefined,
    metrics: optional(one('metrics'), (v) => parseListenFlag('--metrics', v)),
    workers: optional(one('workers'), parseWorkers),
    grace: optional(one('grace'), (v) => parseDurationFlag('--grace', v)),
  }
}

/** The `--token-*` flags, or `undefined` when none is given. */
function tokenConfig(values: ReadonlyMap<ValueFlag, readonly string[]>): TokenConfig | undefined {
  const one = (flag: ValueFlag): string | undefined => values.get(flag)?.[0]
  const keysEnv = one('token-keys-env')
  const keysFile = one('token-keys-file')
  const maxAge = optional(one('token-max-age'), (v) => parseSecondsFlag('--token-max-age', v, 1))
  const idle = optional(one('token-idle'), (v) => parseSecondsFlag('--token-idle', v, 1))
  const skew = optional(one('token-skew'), (v) => parseSecondsFlag('--token-skew', v, 0))
  if (keysEnv !== undefined && keysFile !== undefined) {
    throw new CliUsageError('--token-keys-file', 'cannot be combined with --token-keys-env (choose one)')
  }
  if (keysEnv === undefined && keysFile === undefined) {
    const given = (['token-max-age', 'token-idle', 'token-skew'] as const).find((flag) => values.has(flag))
    if (given === undefined) return undefined
    throw new CliUsageError(`--${given}`, 'needs the token keys: --token-keys-file PATH or --token-keys-env NAME')
  }
  const keys: TokenKeysSource = keysEnv !== undefined ? { kind: 'env', name: keysEnv } : { kind: 'file', path: keysFile ?? '' }
  return { keys, maxAge, idle, skew }
}

/** A duration flag counted in whole seconds (tokens store seconds), at least `min`. */
function parseSecondsFlag(flag: string, text: string, min: number): number {
  const ms = readDuration(text)
  if (ms === undefined || ms % 1_000 !== 0 || ms / 1_000 < min) {
    throw new CliUsageError(flag, `expected a duration in whole seconds${min > 0 ? `, at least ${min}s` : ''}, like 30m, got ${JSON.stringify(text)}`)
  }
  return ms / 1_000
}

/** `--trust-proxy`: checked by the library (`parseTrustList`), its reason worded as the other flags' (an empty list trusts nobody). */
function parseTrustProxy(text: string): string {
  try {
    parseTrustList(text, 'proxy.trustProxy')
  } catch (error) {
    if (error instanceof StickyConfigError) throw new CliUsageError('--trust-proxy', `${error.reason}, got ${JSON.stringify(String(error.value))}`)
    throw error
  }
  return text
}

function parseHealthPath(text: string): string {
  if (!/^\/[!-~]*$/.test(text)) throw new CliUsageError('--health-check', `expected a path starting with /, like /healthz, got ${JSON.stringify(text)}`)
  return text
}

function parseHealthExpect(text: string): string {
  if (!/^\d{3}(?:-\d{3})?(?:,\d{3}(?:-\d{3})?)*$/.test(text)) {
    throw new CliUsageError('--health-expect', `expected status codes or ranges like 200-399 or 200,204, got ${JSON.stringify(text)}`)
  }
  return text
}

function parsePositiveCount(flag: string, text: string): number {
  const n = parseCount(flag, text)
  if (n < 1) throw new CliUsageError(flag, `expected a whole number, at least 1, got ${JSON.stringify(text)}`)
  return n
}

function parsePositiveDuration(flag: string, text: string): number {
  const ms = parseDurationFlag(flag, text)
  if (ms === 0) throw new CliUsageError(flag, `expected a duration above 0, like 5s, got ${JSON.stringify(text)}`)
  return ms
}

/** `--workers N|auto`: N from 1 to 1024. */
function parseWorkers(text: string): number | 'auto' {
  if (text === 'auto') return 'auto'
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > MAX_WORKERS) {
    throw new CliUsageError('--workers', `expected a whole number from 1 to ${MAX_WORKERS} or auto, got ${JSON.stringify(text)}`)
  }
  return Number(text)
}

/** The most worker processes `--workers` and `workers:` accept: beyond it a typo, not a machine. */
export const MAX_WORKERS = 1024

/** `HOST:PORT`, `[IPv6]:PORT` or `PORT`, as `--listen`, for another flag. */
export function parseListenFlag(flag: string, text: string): ListenAddress {
  try {
    return parseListen(text)
  } catch (error) {
    if (error instanceof CliUsageError) throw new CliUsageError(flag, error.reason)
    throw error
  }
}

/**
 * Parses `--listen`: `PORT`, `HOST:PORT` or `[IPv6]:PORT`. A bare port listens on 127.0.0.1.
 *
 * @throws {@link CliUsageError}
 */
export function parseListen(text: string): ListenAddress {
  const bad = (): CliUsageError => new CliUsageError('--listen', `expected PORT, HOST:PORT or [IPv6]:PORT, got ${JSON.stringify(text)}`)
  if (/^\d+$/.test(text)) return { host: DEFAULT_LISTEN.host, port: parsePort(text, bad) }
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d+)$/.exec(text)
  if (match === null) throw bad()
  const host = match[1] ?? match[2]
  if (host === undefined) throw bad()
  return { host, port: parsePort(match[3] ?? '', bad) }
}

function parsePort(text: string, bad: () => CliUsageError): number {
  if (!/^\d{1,5}$/.test(text)) throw bad()
  const port = Number(text)
  if (port > 65_535) throw bad()
  return port
}

/** Defaults an `--upstream` falls back to for what it does not set itself. */
export interface UpstreamDefaults {
  /** `--max-fails` (nginx `max_fails=`). */
  readonly maxFails: number | undefined
  /** `--fail-timeout` in milliseconds (nginx `fail_timeout=`). */
  readonly failTimeout: number | undefined
}

/**
 * Parses one `--upstream`: `ADDRESS[=WEIGHT][,PARAM]...`, where a PARAM is one of nginx's `server`
 * parameters: `weight=N`, `max-fails=N`, `fail-timeout=DURATION`, `route=VALUE`, `backup`, `down`, `drain`
 * (nginx's `max_fails`/`fail_timeout` spellings are accepted too). The address itself is checked by the core.
 *
 * @throws {@link CliUsageError}
 */
export function parseUpstream(text: string, defaults: UpstreamDefaults): PeerOptions {
  const [head = '', ...params] = text.split(',')
  const weighted = /^(.+)=(\d+)$/.exec(head)
  const address = weighted?.[1] ?? head
  if (address.length === 0) throw new CliUsageError('--upstream', `expected ADDRESS[=WEIGHT][,PARAM]..., got ${JSON.stringify(text)}`)
  let weight = weighted?.[2] === undefined ? undefined : parseWeight(weighted[2])
  let maxFails = defaults.maxFails
  let failTimeout = defaults.failTimeout
  let route: string | undefined
  const flags = new Set<'backup' | 'down' | 'drain'>()
  for (const param of params) {
    const eq = param.indexOf('=')
    const name = (eq === -1 ? param : param.slice(0, eq)).replace('_', '-')
    const value = eq === -1 ? undefined : param.slice(eq + 1)
    if ((name === 'backup' || name === 'down' || name === 'drain') && value === undefined) {
      flags.add(name)
    } else if (name === 'weight' && value !== undefined) {
      weight = parseWeight(value)
    } else if (name === 'max-fails' && value !== undefined) {
      maxFails = parseCount('--upstream', value, 'max-fails=')
    } else if (name === 'fail-timeout' && value !== undefined) {
      failTimeout = parseDurationFlag('--upstream', value, 'fail-timeout=')
    } else if (name === 'route' && value !== undefined && value.length > 0) {
      route = value
    } else {
      throw new CliUsageError(
        '--upstream',
        `unknown parameter ${JSON.stringify(param)} in ${JSON.stringify(text)} (expected weight=N, max-fails=N, fail-timeout=10s, route=VALUE, backup, down or drain)`,
      )
    }
  }
  return {
    address,
    ...ifDefined('weight', weight),
    ...ifDefined('maxFails', maxFails),
    ...ifDefined('failTimeout', failTimeout),
    ...ifDefined('route', route),
    ...(flags.has('backup') ? { backup: true } : {}),
    ...(flags.has('down') ? { down: true } : {}),
    ...(flags.has('drain') ? { drain: true } : {}),
  }
}

function parseWeight(text: string): number {
  if (!/^\d{1,6}$/.test(text) || Number(text) < 1) {
    throw new CliUsageError('--upstream', `weight: expected a whole number from 1 to 999999, got ${JSON.stringify(text)}`)
  }
  return Number(text)
}

function parseCount(flag: string, text: string, label = ''): number {
  if (!/^\d{1,9}$/.test(text)) throw new CliUsageError(flag, `${label}expected a whole number like 3, got ${JSON.stringify(text)}`)
  return Number(text)
}

function parseDurationFlag(flag: string, text: string, label = ''): number {
  const ms = readDuration(text)
  if (ms === undefined) throw new CliUsageError(flag, `${label}expected a duration like 10s, got ${JSON.stringify(text)}`)
  return ms
}

/** sticky-core's `parseDuration`, with a flag's own message in place of its `StickyConfigError`. */
function readDuration(text: string): number | undefined {
  try {
    return parseDuration(text, 'duration')
  } catch (error) {
    if (error instanceof StickyConfigError) return undefined
    throw error
  }
}

function parseCookieExpires(text: string): number | 'max' {
  if (text === 'max') return 'max'
  const ms = readDuration(text)
  if (ms === undefined) throw new CliUsageError('--cookie-expires', `expected a duration like 1h or "max", got ${JSON.stringify(text)}`)
  // Max-Age counts whole seconds, and nginx rejects expires=0 (leave the flag out for a session cookie).
  if (ms % 1_000 !== 0 || ms === 0) {
    throw new CliUsageError('--cookie-expires', `expected a whole number of seconds, at least 1s, got ${JSON.stringify(text)}`)
  }
  return ms / 1_000
}

function parseChoice<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  const found = choices.find((choice) => choice === text)
  if (found === undefined) throw new CliUsageError(flag, `expected ${choices.join(', ')}; got ${JSON.stringify(text)}`)
  return found
}

function optional<T>(text: string | undefined, parse: (text: string) => T): T | undefined {
  return text === undefined ? undefined : parse(text)
}

/** `{ [key]: value }` when the value is defined, `{}` otherwise (required by `exactOptionalPropertyTypes`). */
export function ifDefined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V })
}

function isBooleanFlag(flag: string | undefined): flag is BooleanFlag {
  return (BOOLEAN_FLAGS as readonly (string | undefined)[]).includes(flag)
}

function isValueFlag(flag: string | undefined): flag is ValueFlag {
  return (VALUE_FLAGS as readonly (string | undefined)[]).includes(flag)
}

/** How {@link readHmacKey} reaches the outside world; injected so that it stays testable. */
export interface HmacKeyReader {
  /** The process environment. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Reads a whole file; throws a Node `ErrnoException` when it cannot. */
  readFile(path: string): Uint8Array
}

/**
 * Loads the HMAC key named by `--hmac-key-env` or `--hmac-key-file`. A file's trailing newline is dropped
 * (`echo secret > key` writes one); the rest of its bytes are the key.
 *
 * @throws {@link CliUsageError} when the variable is unset or empty, or the file is unreadable or empty.
 */
export function readHmacKey(source: HmacKeySource, reader: HmacKeyReader): string | Uint8Array {
  if (source.kind === 'env') {
    const key = reader.env[source.name]
    if (key === undefined || key === '') {
      throw new CliUsageError('--hmac-key-env', `environment variable ${JSON.stringify(source.name)} is not set or empty`)
    }
    return key
  }
  let bytes: Uint8Array
  try {
    bytes = reader.readFile(source.path)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    throw new CliUsageError('--hmac-key-file', `cannot read ${JSON.stringify(source.path)}${typeof code === 'string' ? ` (${code})` : ''}`)
  }
  let end = bytes.length
  if (bytes[end - 1] === 0x0a) end -= 1
  if (bytes[end - 1] === 0x0d) end -= 1
  if (end === 0) throw new CliUsageError('--hmac-key-file', `${JSON.stringify(source.path)} is empty`)
  return bytes.slice(0, end)
}

/**
 * Reads pin-token keys from text by sticky-core's `parseTokenKeys` (one `id:secret` a line, the first
 * signs), worded for the command line: errors name the flag and the line, never its content.
 *
 * @param flag the flag the text came from, for {@link CliUsageError}
 */
export function parseTokenKeys(text: string, flag: string, where: string): TokenKey[] {
  const reading = readKeys(text)
  if (reading.ok) return [...reading.keys]
  throw new CliUsageError(
    flag,
    reading.line === undefined ? `${where} holds no key (one id:secret a line; the first signs)` : `${where} line ${reading.line}: ${reading.reason}`,
  )
}

/**
 * Loads the pin-token keys named by `--token-keys-env` or `--token-keys-file` (see {@link parseTokenKeys}).
 *
 * @throws {@link CliUsageError} when the variable is unset or empty, the file is unreadable, or the keys do not parse.
 */
export function readTokenKeys(source: TokenKeysSource, reader: HmacKeyReader): TokenKey[] {
  if (source.kind === 'env') {
    const text = reader.env[source.name]
    if (text === undefined || text.trim() === '') {
      throw new CliUsageError('--token-keys-env', `environment variable ${JSON.stringify(source.name)} is not set or empty`)
    }
    return parseTokenKeys(text, '--token-keys-env', `environment variable ${JSON.stringify(source.name)}`)
  }
  let bytes: Uint8Array
  try {
    bytes = reader.readFile(source.path)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    throw new CliUsageError('--token-keys-file', `cannot read ${JSON.stringify(source.path)}${typeof code === 'string' ? ` (${code})` : ''}`)
  }
  return parseTokenKeys(new TextDecoder().decode(bytes), '--token-keys-file', JSON.stringify(source.path))
}

/** `sticky-proxy --help`. */
export const USAGE: string = `Usage: sticky-proxy --upstream ADDRESS [--upstream ADDRESS]... [flags]
       sticky-proxy --config FILE [flags]
       sticky-proxy demo
       sticky-proxy --help | --version

A reverse proxy that pins each browser to one upstream with a cookie (the nginx sticky module).
Clients without a valid cookie are spread by weighted round robin and get a cookie naming their upstream.

Listening and upstreams:
  --listen PORT|HOST:PORT     where to listen (default 127.0.0.1:8080; a bare port listens on 127.0.0.1;
                              0 picks a free port). The bound address is printed on start.
  --upstream SPEC             repeatable. SPEC is ADDRESS[=WEIGHT][,PARAM]... where ADDRESS is ip:port,
                              [v6]:port, host:port, unix:/path or http(s)://host[:port], and PARAM is one of
                              weight=N, max-fails=N, fail-timeout=DURATION, route=VALUE, backup, down, drain.
                              e.g. --upstream 10.0.0.1:8080=2 --upstream 10.0.0.9:8080,backup
  --max-fails N               failures within --fail-timeout that take an upstream out (default 1; 0: never)
  --fail-timeout DURATION     the failure window, and how long a failed upstream rests (default 10s)
  --timeout DURATION          upstream inactivity before 504 (default 60s; 0: no limit)
  --retries N                 other upstreams an idempotent request may try after a connection failure
                              (default: every upstream once)

Cookie:
  --cookie-name NAME          (default route)
  --cookie-path PATH          (default /)
  --cookie-domain DOMAIN
  --cookie-expires DURATION|max   without it the cookie lasts for the browser session
  --secure  --http-only  --partitioned
  --same-site strict|lax|none
  --hash md5|sha1|index|raw   how the cookie value is derived from the upstream address (default md5)
  --hmac md5|sha1|sha256      an HMAC of the address instead, keyed by one of:
  --hmac-key-env NAME         the environment variable NAME
  --hmac-key-file PATH        the file PATH (a trailing newline is ignored)
                              (there is no --hmac-key: a key in argv shows in ps and shell history)
  --refresh assign|always     send Set-Cookie only when assigning an upstream (default), or on every response
  --no-fallback               answer 502 when the pinned upstream is down instead of re-pinning
                              (the older spelling of --failover strict)
  --legacy                    also accept cookies of the old sockaddr-hashing modules, and re-pin them

Pin tokens (signed cookie values that name no address and expire; not with --hash, --hmac or --legacy):
  --token-keys-file PATH      the keys, one a line as id:secret (blank lines and # comments ignored);
  --token-keys-env NAME       or the same lines in the environment variable NAME. The first key signs, all
                              verify (rotate by adding a key in front). An id is 1 to 8 of A-Z a-z 0-9 _ -,
                              a secret at least 32 bytes. (Keys are never taken from argv.)
  --token-max-age DURATION    a pin ends this long after the client was first pinned (default: never)
  --token-idle DURATION       a pin ends after this long without a request (default: never)
  --token-skew DURATION       clock difference tolerated between proxies (default 30s, at most 1h)

Failover and the header carrier:
  --failover repin|temporary|strict|persist
                              a client pinned to an unusable upstream: repin moves it (default); temporary
                              serves it elsewhere but keeps its pin; strict refuses it (502); persist keeps
                              sending it while passive health checks mark the upstream failed (only down moves it)
  --strict-status 502|503     the status of --failover strict (default 502)
  --route-header NAME         the pin may also arrive in this request header (the cookie wins), and is sent
                              back in it when new or re-issued, e.g. --route-header X-Sticky-Route

Config file:
  --config FILE               YAML or JSON with the keys of createStickyProxy plus listen, tls, log, metrics,
                              workers, grace and routes (upstream groups per path prefix); re-read on SIGHUP.
                              Flags override the file, in every route. e.g. --config /etc/sticky/proxy.yaml

TLS, forwarding and request IDs:
  --tls-cert FILE --tls-key FILE
                              serve HTTPS (HTTP/2 and HTTP/1.1) with these PEM files,
                              e.g. --tls-cert /etc/ssl/proxy.pem --tls-key /etc/ssl/proxy.key
  --trust-proxy LIST          clients whose X-Forwarded-*/Forwarded/X-Request-Id are kept and extended:
                              CIDRs, addresses, loopback, private, e.g. --trust-proxy loopback,10.0.0.0/8
  --no-x-forwarded            send no X-Forwarded-For/-Proto/-Host
  --no-request-id             no X-Request-Id (on by default: passed on from a trusted hop, else generated)

Health checks:
  --health-check PATH         request PATH on every upstream, e.g. --health-check /healthz
  --health-interval DURATION  between checks (default 5s)
  --health-timeout DURATION   a slower check fails (default 2s)
  --health-expect LIST        passing statuses (default 200-399), e.g. --health-expect 200,204
  --health-rises N            passes in a row that bring an upstream back (default 2)
  --health-falls N            failures in a row that take it out (default 3)

Processes:
  --workers N|auto            worker processes on one listener (default 1; auto: one per core), e.g. --workers 4
  --grace DURATION            how long a shutdown waits for requests in flight (default 10s), e.g. --grace 30s
  --metrics HOST:PORT         Prometheus metrics on /metrics, e.g. --metrics 127.0.0.1:9100

Output:
  --log-format text|json      one line of text (default) or one JSON object per request, e.g. --log-format json
  --quiet                     no access log (one line per request on stdout, never with cookie values)
  -h, --help                  this text
  -v, --version               the version

DURATION is like 500ms, 10s, 2m, 1h or 1h30m; a bare number is seconds, as in nginx.
SIGTERM or SIGINT: stop accepting, let requests in flight finish (up to --grace), then exit 0.
Exit codes: 0 done, 1 runtime failure (e.g. the port is taken), 2 bad command line or configuration.
`

const OPTION_FLAGS: ReadonlyMap<string, string> = new Map([
  ['peers', '--upstream'],
  ['cookie.name', '--cookie-name'],
  ['cookie.path', '--cookie-path'],
  ['cookie.domain', '--cookie-domain'],
  ['cookie.expires', '--cookie-expires'],
  ['cookie.secure', '--secure'],
  ['cookie.httpOnly', '--http-only'],
  ['cookie.sameSite', '--same-site'],
  ['cookie.partitioned', '--partitioned'],
  ['hash', '--hash'],
  ['hmac', '--hmac'],
  ['refresh', '--refresh'],
  ['fallback', '--no-fallback'],
  ['failover', '--failover'],
  ['strictStatus', '--strict-status'],
  ['header', '--route-header'],
  ['legacy', '--legacy'],
  ['token.maxAge', '--token-max-age'],
  ['token.idle', '--token-idle'],
  ['token.skew', '--token-skew'],
])

/**
 * The flag that sets a balancer option, for error messages: `peers[2].weight` -> `--upstream`,
 * `cookie.sameSite` -> `--same-site`, `hmac.key` -> `--hmac`. `undefined` for an option no flag sets.
 */
export function flagForOption(option: string): string | undefined {
  const path = /^(?:cookie\.|token\.)?[A-Za-z]+/.exec(option)?.[0]
  return path === undefined ? undefined : OPTION_FLAGS.get(path)
}

/** Turns a `StickyConfigError` of the library into the command line's usage error, naming the flag. */
export function usageMessage(error: StickyConfigError): string {
  const flag = flagForOption(error.option)
  const message = error.message.replace(/^sticky: /, '')
  return flag === undefined ? message : `${flag}: ${message}`
}
