// The `sticky-proxy --config FILE` format: one table of keys (CONFIG_SPEC) that both the loader's structural
// check and the published JSON Schema (schema/sticky-proxy.schema.json, generated from it) come from, so that
// the two cannot disagree. Values the library checks (addresses, cookie syntax, ranges) are left to it: the
// loader runs the library's own validation and maps its option path back to a line of the file.
import type { Document, LineCounter } from 'yaml'
import { CliUsageError } from './args'
import { lazyRequire } from './lazy-require'

const yaml = lazyRequire<typeof import('yaml')>('yaml')

/** One key's shape. */
export type Spec =
  | { readonly kind: 'string'; readonly description: string; readonly pattern?: string }
  | { readonly kind: 'boolean'; readonly description: string }
  | { readonly kind: 'integer'; readonly description: string; readonly minimum: number; readonly maximum?: number }
  | { readonly kind: 'enum'; readonly description: string; readonly values: readonly (string | number)[] }
  | { readonly kind: 'duration'; readonly description: string }
  | { readonly kind: 'object'; readonly description: string; readonly keys: Readonly<Record<string, Spec>>; readonly required?: readonly string[] }
  | { readonly kind: 'array'; readonly description: string; readonly items: Spec; readonly minItems?: number }
  | { readonly kind: 'anyOf'; readonly description: string; readonly options: readonly Spec[]; readonly expected: string }

/** A duration as the library reads one: milliseconds as a number, or text with units (`30s`, `1m30s`, `500ms`). */
const DURATION_PATTERN = '^(?=\\d)(?:\\d+d)?(?:\\d+h)?(?:\\d+m(?!s))?(?:\\d+s)?(?:\\d+ms)?$'
const DURATION_RE = new RegExp(DURATION_PATTERN)
const LISTEN_PATTERN = '^(?:\\d{1,5}|\\[[0-9A-Fa-f:.]+\\]:\\d{1,5}|[^:\\[\\]\\s]+:\\d{1,5})$'

const str = (description: string, pattern?: string): Spec =>
  pattern === undefined ? { kind: 'string', description } : { kind: 'string', description, pattern }
const bool = (description: string): Spec => ({ kind: 'boolean', description })
const int = (description: string, minimum: number, maximum?: number): Spec =>
  maximum === undefined ? { kind: 'integer', description, minimum } : { kind: 'integer', description, minimum, maximum }
const oneOf = (description: string, values: readonly (string | number)[]): Spec => ({ kind: 'enum', description, values })
const duration = (description: string): Spec => ({ kind: 'duration', description })
const object = (description: string, keys: Record<string, Spec>, required?: readonly string[]): Spec =>
  required === undefined ? { kind: 'object', description, keys } : { kind: 'object', description, keys, required }

const PEER_OBJECT = object(
  'A peer with its nginx server parameters.',
  {
    address: str('ip:port, [v6]:port, host:port, unix:/path or an http(s)://host[:port] origin.'),
    weight: int('Relative share of new clients, 1 to 999999 (nginx weight=).', 1, 999_999),
    maxFails: int('Failures within failTimeout that take the peer out; 0: never (nginx max_fails=).', 0),
    failTimeout: duration('The failure window and rest time (nginx fail_timeout=); a number is milliseconds.'),
    route: str('The cookie value that pins to this peer, verbatim (nginx route=).'),
    backup: bool('Takes new clients only when no primary is usable (nginx backup).'),
    down: bool('Permanently unusable (nginx down).'),
    drain: bool('Takes only clients already pinned to it (nginx drain).'),
  },
  ['address'],
)

const PEERS: Spec = {
  kind: 'array',
  description: 'The peers to balance: peer lines in nginx server syntax (`10.0.0.1:8080 weight=2 max_fails=3 fail_timeout=30s backup`) or peer objects.',
  minItems: 1,
  items: {
    kind: 'anyOf',
    description: 'A peer line or a peer object.',
    expected: 'a peer line like "10.0.0.1:8080 weight=2" or a peer object',
    options: [str('A peer line: the address, then weight=, max_fails=, fail_timeout=, route=, backup, down, drain.', '\\S'), PEER_OBJECT],
  },
}

const COOKIE = object('The pin cookie (nginx sticky cookie name= path= domain= expires= ...).', {
  name: str('The cookie name. Default route.'),
  path: str('The cookie path. Default /.'),
  domain: str('The cookie domain.'),
  expires: {
    kind: 'anyOf',
    description: 'Max-Age: a number of seconds, a duration text, or max. Without it the cookie lasts for the browser session.',
    expected: 'seconds, a duration like 1h, or "max"',
    options: [duration('Seconds as a number, or a duration text.'), oneOf('The longest lifetime.', ['max'])],
  },
  secure: bool('Secure attribute.'),
  httpOnly: bool('HttpOnly attribute.'),
  sameSite: oneOf('SameSite attribute.', ['Strict', 'Lax', 'None']),
  partitioned: bool('Partitioned attribute (CHIPS).'),
})

const HMAC = object(
  'An HMAC of the peer address as the cookie value (nginx hmac= hmac_key=); the key from a file or the environment, never the file itself.',
  {
    algorithm: oneOf('The HMAC hash.', ['md5', 'sha1', 'sha256']),
    keyFile: str('A file holding the key (a trailing newline is ignored).'),
    keyEnv: str('An environment variable holding the key.'),
  },
  ['algorithm'],
)

const TOKEN = object('Pin tokens: signed cookie values that name no address and expire. Keys one a line as id:secret, the first signs.', {
  keysFile: str('A file holding the keys.'),
  keysEnv: str('An environment variable holding the keys.'),
  maxAge: duration('A pin ends this long after the client was first pinned; a number is seconds.'),
  idle: duration('A pin ends after this long without a request; a number is seconds.'),
  skew: duration('Clock difference tolerated between proxies (default 30s); a number is seconds.'),
})

const PROXY = object('Transport settings (createStickyProxy proxy option).', {
  timeout: duration('Upstream inactivity before 504 (default 60s; 0: no limit); a number is milliseconds.'),
  retries: int('Other peers an idempotent request may try after a connection failure.', 0),
  xForwarded: {
    kind: 'anyOf',
    description: 'X-Forwarded-For/-Proto/-Host (and RFC 7239 Forwarded): true, false, or which of them.',
    expected: 'a boolean or { for, proto, host, forwarded }',
    options: [
      bool('All of X-Forwarded-For/-Proto/-Host (true) or none (false).'),
      object('Which headers to write.', {
        for: bool('X-Forwarded-For.'),
        proto: bool('X-Forwarded-Proto.'),
        host: bool('X-Forwarded-Host.'),
        forwarded: bool('RFC 7239 Forwarded (default false).'),
      }),
    ],
  },
  trustProxy: {
    kind: 'anyOf',
    description: 'Clients whose X-Forwarded-*/Forwarded/X-Request-Id are kept: CIDRs, addresses, loopback, private; a list or a comma-separated string.',
    expected: 'a list of CIDRs (or loopback, private) or a comma-separated string',
    options: [
      str('Comma-separated CIDRs, loopback, private.'),
      { kind: 'array', description: 'CIDRs, loopback, private.', items: str('A CIDR, an address, loopback or private.') },
    ],
  },
  requestId: {
    kind: 'anyOf',
    description: 'Request IDs: true (X-Request-Id, the command line default), false, or the header name.',
    expected: 'a boolean or a header name',
    options: [bool('On (X-Request-Id) or off.'), str('The header name.')],
  },
})

const HEALTH_CHECK = object(
  'Active health checks of every peer.',
  {
    path: str('The path requested, like /healthz.', '^/'),
    interval: duration('Between checks of a peer (default 5s); a number is milliseconds.'),
    timeout: duration('A check slower than this fails (default 2s); a number is milliseconds.'),
    expect: {
      kind: 'anyOf',
      description: 'Passing statuses: a code, a list, or text like 200-399 (the default) or 200,204.',
      expected: 'a status, a list of statuses, or text like 200-399',
      options: [
        int('A status.', 100, 599),
        { kind: 'array', description: 'Statuses.', items: int('A status.', 100, 599), minItems: 1 },
        str('Codes and ranges like 200-399,404.'),
      ],
    },
    rises: int('Checks passed in a row that bring a peer back (default 2).', 1),
    falls: int('Checks failed in a row that take a peer out (default 3).', 1),
    host: str('The Host header of a check (default the peer address).'),
  },
  ['path'],
)

/** The balancer keys a route may set, and the top level sets as defaults for every route. */
const BALANCER_KEYS: Record<string, Spec> = {
  cookie: COOKIE,
  hash: oneOf('How the cookie value is derived from the peer address (default md5; nginx hash=).', ['md5', 'sha1', 'index', 'raw']),
  hmac: HMAC,
  token: TOKEN,
  failover: oneOf('A client pinned to an unusable peer: repin (default), temporary, strict or persist.', ['repin', 'temporary', 'strict', 'persist']),
  fallback: bool('false: the older spelling of failover: strict (nginx no_fallback).'),
  strictStatus: oneOf('The status of failover: strict (default 502).', [502, 503]),
  header: str('A request header that may also carry the pin, and carries it back.'),
  refresh: oneOf('Send Set-Cookie when assigning a peer (assign, default) or on every response (always).', ['assign', 'always']),
  legacy: bool('Also accept cookies of the old sockaddr-hashing modules, and re-pin them.'),
  proxy: PROXY,
  healthCheck: HEALTH_CHECK,
}

const ROUTE = object(
  'An upstream group: requests whose path starts with path (at a segment boundary) go to its peers, through its own balancer.',
  { path: str('The path prefix: /api matches /api and /api/x, not /apix; / matches every path.', '^/'), peers: PEERS, ...BALANCER_KEYS },
  ['path', 'peers'],
)

/** The whole file. */
export const CONFIG_SPEC: Spec = object('sticky-proxy configuration (sticky-proxy --config FILE).', {
  listen: {
    kind: 'anyOf',
    description: 'Where to listen: PORT, HOST:PORT or [IPv6]:PORT (default 127.0.0.1:8080).',
    expected: 'a port or "HOST:PORT"',
    options: [int('A port on 127.0.0.1.', 0, 65_535), str('HOST:PORT or [IPv6]:PORT.', LISTEN_PATTERN)],
  },
  peers: PEERS,
  ...BALANCER_KEYS,
  routes: {
    kind: 'array',
    description: 'Upstream groups per path prefix (instead of peers); the top-level balancer keys are their defaults.',
    items: ROUTE,
    minItems: 1,
  },
  tls: object(
    'Serve HTTPS (with HTTP/2) with these PEM files, re-read on SIGHUP.',
    { cert: str('The certificate chain (PEM).'), key: str('The private key (PEM).') },
    ['cert', 'key'],
  ),
  log: object('The access log.', { format: oneOf('One line of text or one JSON object per request.', ['text', 'json']), quiet: bool('No access log.') }),
  metrics: str('Serve Prometheus metrics on /metrics at HOST:PORT.', LISTEN_PATTERN),
  workers: {
    kind: 'anyOf',
    description: 'Worker processes (default 1); auto: one per available core.',
    expected: 'a whole number from 1 to 1024 or "auto"',
    options: [int('Processes.', 1, 1024), oneOf('One per available core.', ['auto'])],
  },
  grace: duration('How long a shutdown waits for requests in flight (default 10s); a number is milliseconds.'),
})

/** Where a value sits in the file: keys and indexes from the top. */
export type KeyPath = readonly (string | number)[]

/** `routes[1].peers[0]`, `proxy.timeout`. */
export function formatKeyPath(path: KeyPath): string {
  let text = ''
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : text === '' ? part : `.${part}`
  return text
}

/** A parsed config file, with the way back from a key path to its line. */
export interface ConfigText {
  readonly file: string
  readonly value: unknown
  /** The line (1-based) of the value at `path`, or of its nearest enclosing value that exists. */
  lineOf(path: KeyPath): number
}

/**
 * Parses a config file's text (YAML 1.2; JSON is a subset) into plain data.
 *
 * @throws {@link CliUsageError} `FILE:LINE` with the parser's reason, for a syntax error, duplicate keys or several documents
 */
export function parseConfigText(file: string, text: string): ConfigText {
  const { LineCounter, parseDocument } = yaml()
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false })
  const first = doc.errors[0]
  if (first !== undefined) {
    const line = lines.linePos(first.pos[0]).line
    throw new CliUsageError(`${file}:${line}`, first.message.split('\n')[0] ?? first.code)
  }
  const lineOf = (path: KeyPath): number => lineAt(doc, lines, path)
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: 100 })
  } catch (error) {
    throw new CliUsageError(`${file}:1`, error instanceof Error ? error.message : String(error))
  }
  return { file, value: value ?? {}, lineOf }
}

function lineAt(doc: Document, lines: LineCounter, path: KeyPath): number {
  const { isMap, isNode, isPair, isScalar } = yaml()
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)
    if (isNode(node) && node.range !== undefined && node.range !== null) {
      // A key's own line reads better than its value's (a map value starts on the next line).
      const parent = n === 0 ? undefined : n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true)
      if (isMap(parent)) {
        const pair = parent.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === path[n - 1])
        if (pair !== undefined && isScalar(pair.key) && pair.key.range != null) return lines.linePos(pair.key.range[0]).line
      }
      return lines.linePos(node.range[0]).line
    }
  }
  return 1
}

/** A value the spec refuses: where and why. */
export interface ConfigIssue {
  readonly path: KeyPath
  readonly reason: string
}

/**
 * Checks `value` against `spec`: types, enums, ranges, required and unknown keys (with the nearest known
 * key suggested). Returns the first issue, or `undefined` when the value fits.
 */
export function checkSpec(value: unknown, spec: Spec, path: KeyPath = []): ConfigIssue | undefined {
  const issue = (reason: string): ConfigIssue => ({ path, reason })
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string' || value === '') return issue(`expected text, got ${show(value)}`)
      if (spec.pattern !== undefined && !new RegExp(spec.pattern).test(value)) return issue(`${show(value)} is not ${spec.description.replace(/\.$/, '')}`)
      return undefined
    case 'boolean':
      return typeof value === 'boolean' ? undefined : issue(`expected true or false, got ${show(value)}`)
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return issue(`expected a whole number, got ${show(value)}`)
      if (value < spec.minimum || (spec.maximum !== undefined && value > spec.maximum)) {
        return issue(`expected ${spec.maximum === undefined ? `at least ${spec.minimum}` : `${spec.minimum} to ${spec.maximum}`}, got ${value}`)
      }
      return undefined
    case 'enum':
      return spec.values.includes(value as string | number) ? undefined : issue(`expected one of ${spec.values.join(', ')}; got ${show(value)}`)
    case 'duration':
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return undefined
      if (typeof value === 'string' && DURATION_RE.test(value)) return undefined
      return issue(`expected a duration like 10s, 500ms or 1m30s (a number: the option's unit), got ${show(value)}`)
    case 'anyOf':
      return spec.options.some((option) => checkSpec(value, option, path) === undefined) ? undefined : issue(`expected ${spec.expected}, got ${show(value)}`)
    case 'array': {
      if (!Array.isArray(value)) return issue(`expected a list, got ${show(value)}`)
      if (spec.minItems !== undefined && value.length < spec.minItems)
        return issue(`expected at least ${spec.minItems} entr${spec.minItems === 1 ? 'y' : 'ies'}`)
      for (const [index, item] of value.entries()) {
        const found = checkSpec(item, spec.items, [...path, index])
        if (found !== undefined) return found
      }
      return undefined
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return issue(`expected keys and values, got ${show(value)}`)
      const record = value as Record<string, unknown>
      const known = Object.keys(spec.keys)
      for (const key of Object.keys(record)) {
        // Own keys only: `constructor`, `toString` or `__proto__` are names of the table's prototype, not keys.
        const keySpec = Object.hasOwn(spec.keys, key) ? spec.keys[key] : undefined
        if (keySpec === undefined) {
          const near = nearest(key, known)
          return { path: [...path, key], reason: `unknown key${near === undefined ? '' : ` (did you mean ${near}?)`}; expected one of ${known.join(', ')}` }
        }
        const found = checkSpec(record[key], keySpec, [...path, key])
        if (found !== undefined) return found
      }
      for (const key of spec.required ?? []) if (!(key in record)) return issue(`${key} is required`)
      return undefined
    }
  }
}

function show(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'keys and values'
  return JSON.stringify(value) ?? String(value)
}

/** The known key within edit distance 2 of `key` (case ignored), if one is. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const candidate of known) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/** The JSON Schema (draft 2020-12) of {@link CONFIG_SPEC}: what `schema/sticky-proxy.schema.json` holds. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://github.com/sticky-lb/sticky/blob/main/packages/sticky-node/schema/sticky-proxy.schema.json',
    title: 'sticky-proxy configuration',
    ...toSchema(CONFIG_SPEC),
    not: { required: ['peers', 'routes'] },
  }
}

function toSchema(spec: Spec): Record<string, unknown> {
  const description = spec.description
  switch (spec.kind) {
    case 'string':
      return { description, type: 'string', minLength: 1, ...(spec.pattern === undefined ? {} : { pattern: spec.pattern }) }
    case 'boolean':
      return { description, type: 'boolean' }
    case 'integer':
      return { description, type: 'integer', minimum: spec.minimum, ...(spec.maximum === undefined ? {} : { maximum: spec.maximum }) }
    case 'enum':
      return { description, enum: [...spec.values] }
    case 'duration':
      return {
        description,
        anyOf: [
          { type: 'integer', minimum: 0 },
          { type: 'string', pattern: DURATION_PATTERN },
        ],
      }
    case 'anyOf':
      return { description, anyOf: spec.options.map(toSchema) }
    case 'array':
      return { description, type: 'array', items: toSchema(spec.items), ...(spec.minItems === undefined ? {} : { minItems: spec.minItems }) }
    case 'object':
      return {
        description,
        type: 'object',
        properties: Object.fromEntries(Object.entries(spec.keys).map(([key, value]) => [key, toSchema(value)])),
        ...(spec.required === undefined ? {} : { required: [...spec.required] }),
        additionalProperties: false,
      }
  }
}
