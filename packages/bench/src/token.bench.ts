import { createBalancer, createTokenCodec, parseCookie, type Peer, type TokenCodec, type TokenPeerTable } from 'sticky-core'
import { formatDuration, formatPlural, formatRatio } from './format'
import { typicalHeader, peerAddresses } from './fixtures'
import { describeMachine } from './machine'
import { renderTable } from './markdown'
import { FULL_BUDGET, measureCases, microCase, QUICK_BUDGET, type MicroCase } from './micro'
import { ratio } from './stats'
import { renderSection, type BenchOptions, type BenchSubject } from './subject'

const NAME = 'route'
/** 2026-01-01: a fixed clock, so the tokens measured are valid and need no re-issue. */
const NOW = Date.UTC(2026, 0, 1)
const KEYS = [
  { id: '2026-12', secret: 'a bench secret of thirty-two b..' },
  { id: '2026-06', secret: 'the older bench secret, 32 bytes' },
]
/** Distinct tokens cycled through by the uncached cases, so no JIT or cache shortcut sees a repeat. */
const VARIETY = 64

interface TokenFixture {
  readonly codec: TokenCodec
  readonly table: TokenPeerTable<Peer>
  readonly header: string
}

/** What a balancer will do on a token hit: find the cookie, read the token, look its peer up. */
function tokenHit(f: TokenFixture, header: string): Peer | undefined {
  const value = parseCookie(header, NAME)
  if (value === undefined) return undefined
  const reading = f.codec.read(value, NOW)
  return reading.status === 'valid' ? f.table.peerOf(reading) : undefined
}

/**
 * Pin tokens: a hit through `decide` with a `token` balancer, and the codec's parts (a token read from
 * the cache of verified tokens and verified afresh, an issue), against a plain hit of `decide` with an
 * md5 cookie and against the baseline the decide bench uses.
 */
export const tokenBench: BenchSubject = {
  name: 'token',
  async run(options: BenchOptions): Promise<string> {
    const machine = describeMachine()
    const balancer = createBalancer({ peers: peerAddresses(3) })
    const plainHeader = typicalHeader(NAME, balancer.cookieValue(balancer.peers[1]!))
    const byValue = new Map(balancer.peers.map((p) => [balancer.cookieValue(p), p]))
    const build = (cache: number): TokenFixture => {
      const codec = createTokenCodec({ keys: KEYS, idle: 1800, maxAge: 604_800, cache })
      const table = codec.peerTable(balancer.peers.map((p) => [p.address, p] as const))
      const header = typicalHeader(NAME, codec.issue(table.idOf(balancer.peers[1]!)!, NOW))
      return { codec, table, header }
    }
    const cached = build(4096)
    const uncached = build(0)
    const headers = Array.from({ length: VARIETY }, (_, i) =>
      typicalHeader(NAME, uncached.codec.issue(uncached.table.idOf(balancer.peers[i % 3]!)!, NOW - i * 1000)),
    )
    let next = 0

    if (balancer.decide(plainHeader).outcome !== 'hit') throw new Error('plain fixture is not a hit')
    for (const [f, header] of [
      [cached, cached.header],
      [uncached, headers[VARIETY - 1]!],
    ] as const) {
      const value = parseCookie(header, NAME)!
      const reading = f.codec.read(value, NOW)
      if (reading.status !== 'valid' || reading.needsReissue || f.table.peerOf(reading) === undefined) {
        throw new Error(`token fixture reads ${JSON.stringify(reading)}, expected a valid token that needs no re-issue`)
      }
    }
    const peerId = cached.table.idOf(balancer.peers[1]!)!
    // The wired path: a balancer whose cookie value is a token, on a fixed clock.
    const tokenBalancer = createBalancer({ peers: peerAddresses(3), token: { keys: KEYS, idle: 1800, maxAge: 604_800 }, now: () => NOW })
    const tokenHeader = typicalHeader(NAME, tokenBalancer.cookieValue(tokenBalancer.peers[1]!))
    const tokenDecision = tokenBalancer.decide(tokenHeader)
    if (tokenDecision.outcome !== 'hit' || tokenDecision.setCookie !== null)
      throw new Error(`token decide fixture is ${tokenDecision.outcome}, expected a hit needing no re-issue`)

    const rows: MicroCase[] = [
      microCase(
        'baseline: parseCookie + Map.get',
        () => plainHeader,
        (h) => {
          const value = parseCookie(h, NAME)
          return value === undefined ? undefined : byValue.get(value)
        },
      ),
      microCase(
        'plain hit: decide (md5 cookie)',
        () => plainHeader,
        (h) => balancer.decide(h),
      ),
      microCase(
        'token hit: decide (token cookie, cached)',
        () => tokenHeader,
        (h) => tokenBalancer.decide(h),
      ),
      microCase(
        'token hit, cached: parseCookie + read + peerOf',
        () => cached.header,
        (h) => tokenHit(cached, h),
      ),
      microCase(
        'token hit, uncached (cache 0): HMAC checked',
        () => headers[next++ % VARIETY]!,
        (h) => tokenHit(uncached, h),
      ),
      microCase(
        'issue a token',
        () => peerId,
        (id) => cached.codec.issue(id, NOW),
      ),
    ]
    const times = await measureCases(rows, options.quick ? QUICK_BUDGET : FULL_BUDGET, options.log)
    const base = times.get(rows[0]!.name)!
    const table = renderTable(
      [
        { header: 'case', align: 'left' },
        { header: 'time/op', align: 'right' },
        { header: '× baseline', align: 'right' },
      ],
      rows.map((r) => [r.name, formatDuration(times.get(r.name)!), formatRatio(ratio(times.get(r.name)!, base))]),
    )
    return renderSection({
      title: 'token',
      machine,
      method:
        `mitata, median time per call, best of ${formatPlural(options.quick ? QUICK_BUDGET.rounds : FULL_BUDGET.rounds, 'interleaved round')}. ` +
        'Pin tokens (HMAC-SHA-256 in pure TypeScript, key states precomputed): a hit through `decide` with the `token` option, and ' +
        'the codec alone: a valid token that needs no re-issue, read from the cache of verified tokens and verified afresh ' +
        `(cycling through ${VARIETY} distinct tokens), beside a plain hit and the decide baseline. The header carries five other cookies.`,
      body: [table],
    })
  },
}
