// Compiled by `tsc -p test/tsconfig.json` (the package's typecheck), never run: it pins the public types.
// Each `@ts-expect-error` line must fail to compile; if the types let it through, the typecheck fails.
import { createBalancer, resolveSharedProxyOptions, StickyConfigError } from '../src/index'
import type {
  BalancerOptions,
  Decision,
  Duration,
  FailoverRule,
  HmacOptions,
  Outcome,
  Peer,
  PinnedDecision,
  ResolvedSharedProxyOptions,
  RoutedDecision,
  SharedProxyOptions,
  TemporaryDecision,
  TokenCookieOptions,
  UnavailableDecision,
} from '../src/index'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

export function decisions(cookie: string | undefined): void {
  const balancer = createBalancer({ peers: ['10.0.0.1:8080'] })
  const d: Decision = balancer.decide(cookie)
  const union: Equal<Decision, RoutedDecision | UnavailableDecision> = true
  const outcomes: Equal<Decision['outcome'], Outcome> = true

  // @ts-expect-error before narrowing, peer may be null
  const early: Peer = d.peer

  if (d.outcome !== 'unavailable') {
    const peer: Peer = d.peer
    const routed: Equal<typeof d, RoutedDecision> = true
    const status: undefined = d.status
    balancer.report(peer, true)
    void [routed, status]
  } else {
    const none: null = d.peer
    const status: 502 | 503 = d.status
    // @ts-expect-error 503 is possible (failover 'strict' with strictStatus 503)
    const only502: 502 = d.status
    const cookieNone: null = d.setCookie
    void [none, status, cookieNone, only502]
  }
  if (d.peer !== null) {
    const outcome: 'hit' | 'new' | 'invalid' | 'repinned' | 'temporary' | 'persisted' = d.outcome
    void outcome
  }
  if (d.status === 502) {
    const unavailable: Equal<typeof d, UnavailableDecision> = true
    void unavailable
  }
  switch (d.outcome) {
    case 'hit':
    case 'new':
    case 'invalid':
    case 'repinned':
    case 'persisted':
      d.peer.address satisfies string
      break
    case 'temporary': {
      const none: null = d.setCookie
      const noHeader: null = d.headerValue
      d.peer.address satisfies string
      void [none, noHeader]
      break
    }
    case 'unavailable':
      // @ts-expect-error no peer when unavailable
      d.peer.address
      break
  }
  void [union, outcomes, early]
}

export function hashAndHmac(key: string, hmac: HmacOptions): void {
  const peers = ['10.0.0.1:8080']
  createBalancer({ peers, hash: 'sha1' })
  createBalancer({ peers, hmac: { algorithm: 'sha256', key } })
  createBalancer({ peers, hash: undefined, hmac })
  createBalancer({ peers, hash: 'md5', hmac: undefined })
  // @ts-expect-error hash and hmac exclude each other
  createBalancer({ peers, hash: 'md5', hmac: { algorithm: 'md5', key } })
  // @ts-expect-error hash and hmac exclude each other, whatever the hash mode
  const both: BalancerOptions = { peers, hash: 'index', hmac }
  // @ts-expect-error an unknown hash mode
  createBalancer({ peers, hash: 'crc32' })
  // @ts-expect-error a misspelt option is an error, not an ignored key
  createBalancer({ peers, cookei: { name: 'route' } })
  void both
}

export function durations(): void {
  createBalancer({ peers: [{ address: 'a:1', failTimeout: 30_000 }], cookie: { expires: 3600 } })
  createBalancer({ peers: [{ address: 'a:1', failTimeout: '30s' }], cookie: { expires: '1h' } })
  createBalancer({ peers: [{ address: 'a:1', failTimeout: '1m30s' }], cookie: { expires: '1d12h' } })
  createBalancer({ peers: ['a:1'], cookie: { expires: 'max' } })
  const timeout: Duration = '500ms'
  const inMs: Duration = 500
  // @ts-expect-error a string duration needs its unit
  createBalancer({ peers: [{ address: 'a:1', failTimeout: '30' }] })
  // @ts-expect-error an unknown unit
  createBalancer({ peers: ['a:1'], cookie: { expires: '1w' } })
  // @ts-expect-error words are not durations
  const words: Duration = 'one hour'
  void [timeout, inMs, words]
}

export function sharedProxy(): void {
  const proxy: SharedProxyOptions = { timeout: '30s', retries: 1, xForwarded: { for: true, host: false } }
  const resolved: ResolvedSharedProxyOptions = resolveSharedProxyOptions(proxy, ['agent'])
  const ms: number = resolved.timeout
  const retries: number | undefined = resolved.retries
  const host: boolean = resolved.xForwarded.host
  // @ts-expect-error xForwarded is a boolean or an object of booleans
  const text: SharedProxyOptions = { xForwarded: 'yes' }
  // @ts-expect-error unknown shared key
  const typo: SharedProxyOptions = { timout: 5 }
  void [ms, retries, host, text, typo]
}

export function errors(error: unknown): void {
  if (error instanceof StickyConfigError) {
    const option: string = error.option
    const value: unknown = error.value
    void [option, value]
  }
}

export function affinity(secret: string, cookie: string | undefined, routeHeader: string | undefined): void {
  const peers = ['10.0.0.1:8080']
  const token = { keys: [{ id: '2026-12', secret }], maxAge: '7d', idle: 1800, skew: 30 } as const
  const balancer = createBalancer({ peers, token, failover: 'temporary', header: 'X-Sticky-Route' })
  createBalancer({ peers, token, legacy: false, refresh: 'always' })
  createBalancer({ peers, failover: 'strict', strictStatus: 503 })
  createBalancer({ peers, fallback: false, strictStatus: 503 })
  const rule: FailoverRule = 'persist'
  createBalancer({ peers, failover: rule })
  // @ts-expect-error token excludes hash
  createBalancer({ peers, token, hash: 'md5' })
  // @ts-expect-error token excludes hmac
  createBalancer({ peers, token, hmac: { algorithm: 'sha256', key: secret } })
  // @ts-expect-error token excludes legacy
  createBalancer({ peers, token, legacy: true })
  // @ts-expect-error an unknown failover rule
  createBalancer({ peers, failover: 'retry' })
  // @ts-expect-error strictStatus is 502 or 503
  createBalancer({ peers, failover: 'strict', strictStatus: 500 })
  // @ts-expect-error token keys are objects with an id and a secret
  createBalancer({ peers, token: { keys: [secret] } })

  const name: string | undefined = balancer.header
  const d = balancer.decide(cookie, { header: routeHeader })
  const value: string | null = d.headerValue
  if (d.outcome === 'temporary') {
    const temporary: Equal<typeof d, TemporaryDecision> = true
    const noCookie: null = d.setCookie
    void [temporary, noCookie]
  } else if (d.outcome !== 'unavailable') {
    const pinned: Equal<typeof d, PinnedDecision> = true
    const setCookie: string | null = d.setCookie
    void [pinned, setCookie]
  }
  const options: TokenCookieOptions = { token }
  void [name, value, options]
}
