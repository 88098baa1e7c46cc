// The scenario that runs twice: in Node, and inlined (transpiled, not bundled) into the page that
// headless Chromium loads. It may use only ECMAScript and the core it is given: no imports at runtime,
// no Node or DOM globals, so that both runs execute exactly this code against the same built file.
import type * as StickyCore from 'sticky-core'

/** The module namespace of the built `sticky-core`. */
export type Core = typeof StickyCore

/** Inputs generated per run by fast-check in Node and handed to both runs. */
export interface Samples {
  /** Any UTF-16 strings, lone surrogates included. */
  readonly texts: readonly string[]
  /** Byte strings, as arrays of numbers so that they survive JSON. */
  readonly bytes: readonly (readonly number[])[]
  /** `Cookie` header candidates. */
  readonly headers: readonly string[]
  /** `ip:port` peer addresses. */
  readonly addresses: readonly string[]
}

/** A hash input: a string, or bytes written as numbers. */
export interface HashCase {
  readonly name: string
  readonly input: string | readonly number[]
}

/** Every digest of one input, lowercase hex. */
export interface Digests {
  readonly md5: string
  readonly sha1: string
  readonly sha256: string
  readonly hmacMd5: string
  readonly hmacSha1: string
  readonly hmacSha256: string
  /** HMAC-SHA-256 under a key longer than the block, which RFC 2104 hashes first. */
  readonly hmacSha256LongKey: string
}

/** One step of the fixed `decide` scenario. */
export interface Step {
  readonly step: string
  readonly outcome: string
  readonly peer: string | null
  readonly setCookie: string | null
  readonly status: number | null
}

/** What a rejected configuration looked like from the inside. */
export interface ConfigFailure {
  readonly case: string
  readonly threw: boolean
  readonly name: string | null
  readonly option: string | null
  readonly message: string | null
  readonly isTypeError: boolean
  readonly isStickyConfigError: boolean
}

/** Everything the scenario computes, JSON-safe (no undefined, no non-finite numbers). */
export interface ScenarioResult {
  readonly hashes: readonly { readonly name: string; readonly digests: Digests }[]
  readonly values: readonly { readonly mode: string; readonly values: readonly (readonly [string, string])[] }[]
  readonly decisions: readonly Step[]
  readonly parsed: readonly { readonly header: string; readonly route: string | null; readonly proto: string | null }[]
  readonly serialized: readonly { readonly case: string; readonly header: string | null; readonly error: ConfigFailure | null }[]
  readonly errors: readonly ConfigFailure[]
  readonly samples: {
    readonly texts: readonly Digests[]
    readonly bytes: readonly Digests[]
    readonly headers: readonly (string | null)[]
    readonly addresses: readonly (readonly [string, string])[]
  }
}

/** The HMAC key of the scenario, short: zero-padded to the block. */
export const HMAC_KEY = 'sticky-secret'
/** 100 bytes: longer than the 64-byte block, so RFC 2104 hashes it first. */
export const LONG_HMAC_KEY: readonly number[] = Array.from({ length: 100 }, (_, i) => (i * 7 + 3) & 0xff)

/** The peer the seed document's example pins to. */
export const ROUTE_KEY = '127.0.0.1:9001'

/** The bytes of Linux `struct sockaddr_in` for 127.0.0.1:9002, which first and second generation modules hashed. */
export const SOCKADDR_9002: readonly number[] = [2, 0, 0x23, 0x2a, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]

/** Fixed hash inputs: ASCII, full Unicode, lone surrogates and bytes. */
export const HASH_CASES: readonly HashCase[] = [
  { name: 'the route key of 127.0.0.1:9001', input: ROUTE_KEY },
  { name: 'the empty string', input: '' },
  { name: 'an ASCII sentence', input: 'The quick brown fox jumps over the lazy dog' },
  { name: '119 ASCII bytes (padding spills into a third block)', input: 'x'.repeat(119) },
  { name: 'Latin-1, BMP and astral characters', input: 'caf\u00e9 \u2013 \u6771\u4eac \u2013 \ud83d\ude00\ud834\udd1e' },
  { name: 'a lone lead surrogate', input: 'a\ud800b' },
  { name: 'a lone trail surrogate at the end', input: 'z\udc00' },
  { name: 'reversed surrogates', input: '\ude00\ud83d' },
  { name: 'every byte value', input: Array.from({ length: 256 }, (_, i) => i) },
  { name: 'the sockaddr of 127.0.0.1:9002', input: SOCKADDR_9002 },
]

/** `Cookie` headers a client controls, hostile ones included. */
export const HOSTILE_HEADERS: readonly string[] = [
  '',
  ';;;',
  'route',
  'route=',
  'route="abc"',
  'route="',
  '  route =  padded value  ; route=second',
  'a=1; route=first; route=second',
  'ROUTE=upper; Route=mixed',
  'xroute=1; routex=2',
  '__proto__=polluted; constructor=1; route=ok',
  'route=a\u0000b; other=\r\n',
  'route=\ud800\udfff\ud800',
  '=route; ==; route==x',
  `${'a=b;'.repeat(2000)}route=deep`,
  `route=${'x'.repeat(5000)}`,
  'route=%3Cscript%3E',
  '\troute\t=\ttabs\t',
]

/** Runs every check of the scenario against `core`; throws only if the core does. */
export function runScenario(core: Core, samples: Samples): ScenarioResult {
  const longKey = Uint8Array.from(LONG_HMAC_KEY)
  const digests = (input: string | Uint8Array): Digests => ({
    md5: core.md5(input),
    sha1: core.sha1(input),
    sha256: core.sha256(input),
    hmacMd5: core.hmac('md5', HMAC_KEY, input),
    hmacSha1: core.hmac('sha1', HMAC_KEY, input),
    hmacSha256: core.hmac('sha256', HMAC_KEY, input),
    hmacSha256LongKey: core.hmac('sha256', longKey, input),
  })
  const asInput = (input: string | readonly number[]): string | Uint8Array => (typeof input === 'string' ? input : Uint8Array.from(input))

  return {
    hashes: HASH_CASES.map(({ name, input }) => ({ name, digests: digests(asInput(input)) })),
    values: cookieValues(core),
    decisions: decisions(core),
    parsed: HOSTILE_HEADERS.map((header) => ({
      header,
      route: core.parseCookie(header, 'route') ?? null,
      proto: core.parseCookie(header, '__proto__') ?? null,
    })),
    serialized: serializations(core),
    errors: configFailures(core),
    samples: {
      texts: samples.texts.map((text) => digests(text)),
      bytes: samples.bytes.map((bytes) => digests(Uint8Array.from(bytes))),
      headers: samples.headers.map((header) => core.parseCookie(header, 'route') ?? null),
      addresses: samples.addresses.map((address) => {
        const balancer = core.createBalancer({ peers: [address] })
        return [address, balancer.cookieValue(balancer.peers[0]!)] as const
      }),
    },
  }
}

function cookieValues(core: Core): ScenarioResult['values'] {
  const peers = [ROUTE_KEY, '[::1]:9002', 'http://app.internal', { address: '127.0.0.1:9003', route: 'c' }]
  const modes: readonly {
    mode: string
    options: Omit<StickyCore.BalancerBaseOptions, 'peers'> & (StickyCore.HashedCookieOptions | StickyCore.HmacCookieOptions)
  }[] = [
    { mode: 'default', options: {} },
    { mode: 'md5', options: { hash: 'md5' } },
    { mode: 'sha1', options: { hash: 'sha1' } },
    { mode: 'index', options: { hash: 'index' } },
    { mode: 'raw', options: { hash: 'raw' } },
    { mode: 'hmac md5', options: { hmac: { algorithm: 'md5', key: HMAC_KEY } } },
    { mode: 'hmac sha1', options: { hmac: { algorithm: 'sha1', key: HMAC_KEY } } },
    { mode: 'hmac sha256 (bytes key)', options: { hmac: { algorithm: 'sha256', key: Uint8Array.from(LONG_HMAC_KEY) } } },
  ]
  return modes.map(({ mode, options }) => {
    const balancer = core.createBalancer({ ...options, peers })
    return { mode, values: balancer.peers.map((peer) => [peer.id, balancer.cookieValue(peer)] as const) }
  })
}

function decisions(core: Core): Step[] {
  let now = Date.UTC(2026, 0, 1, 12, 0, 0)
  const steps: Step[] = []
  const record = (step: string, d: StickyCore.Decision): StickyCore.Decision => {
    steps.push({ step, outcome: d.outcome, peer: d.peer?.id ?? null, setCookie: d.setCookie, status: d.status ?? null })
    return d
  }

  const balancer = core.createBalancer({
    peers: [ROUTE_KEY, '127.0.0.1:9002', { address: '127.0.0.1:9003', weight: 2 }],
    cookie: { expires: 3600, secure: true, httpOnly: true, sameSite: 'Lax' },
    legacy: true,
    now: () => now,
  })
  const first = balancer.peers[0]!
  const pinned = `route=${balancer.cookieValue(first)}`
  record('new', balancer.decide(undefined))
  record('new again', balancer.decide(null))
  record('hit', balancer.decide(pinned))
  record('hit among other cookies', balancer.decide(`session=abc; ${pinned}; route=ignored`))
  balancer.report(first, false)
  now += 1000
  record('repinned after a failure', balancer.decide(pinned))
  record('invalid forged cookie', balancer.decide('route=0123456789abcdef0123456789abcdef'))
  record('invalid oversized cookie', balancer.decide(`route=${'f'.repeat(9000)}`))
  record('legacy sockaddr cookie', balancer.decide(`route=${core.md5(Uint8Array.from(SOCKADDR_9002))}`))
  now += 10_000
  record('hit once the failure window passed', balancer.decide(pinned))
  record('retry excluding the pinned peer', balancer.decide(pinned, { exclude: [first] }))

  const strict = core.createBalancer({
    peers: [ROUTE_KEY, '127.0.0.1:9002'],
    cookie: { name: 'backend', expires: 'max', path: '/app', domain: '.example.com' },
    fallback: false,
    refresh: 'always',
    hash: 'sha1',
    now: () => now,
  })
  const strictPin = `backend=${strict.cookieValue(strict.peers[0]!)}`
  record('sliding expiry on a hit', strict.decide(strictPin))
  strict.report(strict.peers[0]!, false)
  record('no_fallback: 502 for an unusable pinned peer', strict.decide(strictPin))
  record('no_fallback: first visits still balanced', strict.decide(''))
  return steps
}

function serializations(core: Core): ScenarioResult['serialized'] {
  const cases: readonly { case: string; name: string; value: string; attributes?: StickyCore.CookieAttributes }[] = [
    { case: 'bare', name: 'route', value: 'abc' },
    {
      case: 'every attribute',
      name: 'route',
      value: '422db4e6da7b4bba46bd476612df0469',
      attributes: {
        domain: '.example.com',
        path: '/app',
        expires: new Date(Date.UTC(2026, 0, 1, 12, 0, 0)),
        maxAge: 3600,
        secure: true,
        httpOnly: true,
        sameSite: 'Strict',
        partitioned: true,
      },
    },
    { case: 'SameSite=None with Secure', name: 'route', value: 'v', attributes: { sameSite: 'None', secure: true } },
    { case: 'an expiry in the past deletes', name: 'route', value: '', attributes: { expires: new Date(0), maxAge: 0 } },
    { case: '__Host- prefix', name: '__Host-route', value: 'v', attributes: { secure: true, path: '/' } },
    { case: 'a name that is no token', name: 'bad name', value: 'v' },
    { case: 'a value with a semicolon', name: 'route', value: 'a;b' },
    { case: 'SameSite=None without Secure', name: 'route', value: 'v', attributes: { sameSite: 'None' } },
    { case: '__Host- with a domain', name: '__Host-route', value: 'v', attributes: { secure: true, domain: 'example.com' } },
  ]
  return cases.map((c) => {
    try {
      return { case: c.case, header: core.serializeCookie(c.name, c.value, c.attributes), error: null }
    } catch (error) {
      return { case: c.case, header: null, error: describeFailure(core, c.case, error) }
    }
  })
}

function configFailures(core: Core): ConfigFailure[] {
  const cases: readonly { case: string; options: unknown }[] = [
    { case: 'no peers', options: { peers: [] } },
    { case: 'a port out of range', options: { peers: ['127.0.0.1:99999'] } },
    { case: 'a negative weight', options: { peers: [{ address: '127.0.0.1:9001', weight: -1 }] } },
    { case: 'SameSite=None without secure', options: { peers: [ROUTE_KEY], cookie: { sameSite: 'None' } } },
    { case: 'hmac without a key', options: { peers: [ROUTE_KEY], hmac: { algorithm: 'md5', key: '' } } },
    { case: 'hash and hmac together', options: { peers: [ROUTE_KEY], hash: 'sha1', hmac: { algorithm: 'md5', key: 'k' } } },
    { case: 'expires 0', options: { peers: [ROUTE_KEY], cookie: { expires: 0 } } },
    { case: 'a valid configuration', options: { peers: [ROUTE_KEY] } },
  ]
  return cases.map(({ case: name, options }) => {
    try {
      core.createBalancer(options as StickyCore.BalancerOptions)
    } catch (error) {
      return describeFailure(core, name, error)
    }
    return { case: name, threw: false, name: null, option: null, message: null, isTypeError: false, isStickyConfigError: false }
  })
}

function describeFailure(core: Core, name: string, error: unknown): ConfigFailure {
  const option = error instanceof core.StickyConfigError ? error.option : null
  return {
    case: name,
    threw: true,
    name: error instanceof Error ? error.name : null,
    option,
    message: error instanceof Error ? error.message : String(error),
    isTypeError: error instanceof TypeError,
    isStickyConfigError: error instanceof core.StickyConfigError,
  }
}

/**
 * JSON in printable ASCII, with `<`, `>` and `&` escaped too: safe inside an inline script and inside
 * an HTML text node, so the dumped DOM carries it byte for byte (no entities, no re-encoding of lone
 * surrogates). `JSON.parse` gives the value back; a value JSON cannot hold (undefined) becomes `null`.
 */
export function encodeResult(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(/[^\x20-\x7e]|[<>&]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
