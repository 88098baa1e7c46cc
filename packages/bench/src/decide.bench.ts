import { createBalancer, parseCookie, type Balancer, type BalancerOptions, type Outcome, type Peer } from 'sticky-core'
import { formatCount, formatDuration, formatPlural, formatRatio } from './format'
import { describeMachine } from './machine'
import { renderTable } from './markdown'
import { FULL_BUDGET, measureCases, microCase, QUICK_BUDGET, type MicroCase } from './micro'
import { hugeHeader, peerAddresses, typicalHeader } from './fixtures'
import { ratio } from './stats'
import { renderSection, type BenchOptions, type BenchSubject } from './subject'

const NAME = 'route'
/** 32 hex digits, the shape of an md5 value, naming no peer: what a forged or stale cookie looks like. */
const FORGED = '0123456789abcdef0123456789abcdef'
const SIZES = [3, 100, 10_000] as const

/** A balancer over `n` peers and the Cookie header that pins to the peer in the middle of the list. */
interface Fixture {
  readonly balancer: Balancer
  readonly header: string
  /** What the baseline looks the value up in: cookie value to peer, as the balancer's own map. */
  readonly byValue: ReadonlyMap<string, Peer>
  readonly value: string
}

function fixture(n: number, options: Partial<BalancerOptions> = {}): Fixture {
  const balancer = createBalancer({ ...options, peers: peerAddresses(n) })
  const byValue = new Map(balancer.peers.map((p) => [balancer.cookieValue(p), p]))
  const value = balancer.cookieValue(balancer.peers[n >> 1]!)
  return { balancer, header: typicalHeader(NAME, value), byValue, value }
}

function hitName(peers: number): string {
  return `hit, ${formatCount(peers)} peers`
}

function newName(peers: number): string {
  return `new (SWRR), ${formatCount(peers)} peers`
}

/** What every request costs at least: finding the cookie in the header and the peer it names. */
function baseline(header: string, byValue: ReadonlyMap<string, Peer>): Peer | undefined {
  const value = parseCookie(header, NAME)
  return value === undefined ? undefined : byValue.get(value)
}

/** Throws unless the fixture gives the outcome the case claims to measure. */
function expectOutcome(balancer: Balancer, header: string | undefined, outcome: Outcome, setCookie: boolean): void {
  const decision = balancer.decide(header)
  if (decision.outcome !== outcome || (decision.setCookie !== null) !== setCookie) {
    throw new Error(`decide fixture gives ${decision.outcome} (Set-Cookie ${String(decision.setCookie)}), expected ${outcome}`)
  }
}

/** `Balancer.decide` on the request path: hits by peer count, assignments, forged and huge cookies. */
export const decideBench: BenchSubject = {
  name: 'decide',
  async run(options: BenchOptions): Promise<string> {
    const machine = describeMachine()
    const fixtures = new Map(SIZES.map((n) => [n, fixture(n)]))
    const small = fixtures.get(3)!
    const large = fixtures.get(10_000)!
    const huge = hugeHeader(NAME, small.value)
    const forged = typicalHeader(NAME, FORGED)
    const sliding = fixture(3, { refresh: 'always', cookie: { expires: 3600 } })

    for (const f of fixtures.values()) {
      expectOutcome(f.balancer, f.header, 'hit', false)
      expectOutcome(f.balancer, undefined, 'new', true)
    }
    expectOutcome(small.balancer, forged, 'invalid', true)
    expectOutcome(small.balancer, huge, 'hit', false)
    expectOutcome(sliding.balancer, sliding.header, 'hit', true)

    const rows: Array<{ readonly c: MicroCase; readonly peers: number }> = [
      {
        c: microCase(
          'baseline: parseCookie + Map.get',
          () => small.header,
          (h) => baseline(h, small.byValue),
        ),
        peers: 3,
      },
      {
        c: microCase(
          'baseline, 10 000-entry Map',
          () => large.header,
          (h) => baseline(h, large.byValue),
        ),
        peers: 10_000,
      },
      ...SIZES.map((n) => {
        const f = fixtures.get(n)!
        return {
          c: microCase(
            hitName(n),
            () => f.header,
            (h) => f.balancer.decide(h),
          ),
          peers: n,
        }
      }),
      ...SIZES.map((n) => {
        const f = fixtures.get(n)!
        return {
          c: microCase(
            newName(n),
            () => undefined,
            (h) => f.balancer.decide(h),
          ),
          peers: n,
        }
      }),
      {
        c: microCase(
          'invalid (forged cookie)',
          () => forged,
          (h) => small.balancer.decide(h),
        ),
        peers: 3,
      },
      {
        c: microCase(
          'baseline on a 64 KiB header',
          () => huge,
          (h) => baseline(h, small.byValue),
        ),
        peers: 3,
      },
      {
        c: microCase(
          'hit in a 64 KiB header',
          () => huge,
          (h) => small.balancer.decide(h),
        ),
        peers: 3,
      },
      {
        c: microCase(
          "hit, refresh 'always' + expires",
          () => sliding.header,
          (h) => sliding.balancer.decide(h),
        ),
        peers: 3,
      },
    ]
    const times = await measureCases(
      rows.map((r) => r.c),
      options.quick ? QUICK_BUDGET : FULL_BUDGET,
      options.log,
    )
    const base = times.get(rows[0]!.c.name)!
    const table = renderTable(
      [
        { header: 'case', align: 'left' },
        { header: 'peers', align: 'right' },
        { header: 'time/op', align: 'right' },
        { header: '× baseline', align: 'right' },
      ],
      rows.map((r) => [r.c.name, formatCount(r.peers), formatDuration(times.get(r.c.name)!), formatRatio(ratio(times.get(r.c.name)!, base))]),
    )
    const hit = (n: number): number => times.get(hitName(n))!
    const fresh = (n: number): number => times.get(newName(n))!
    const base10k = times.get('baseline, 10 000-entry Map')!
    const notes = [
      `Hit flatness: hit at 10 000 peers / hit at 3 peers = **${formatRatio(ratio(hit(10_000), hit(3)))}**, while the baseline's own ` +
        `Map grows ${formatRatio(ratio(base10k, base))} over the same range; against the baseline of its own size a hit costs ` +
        `${formatRatio(ratio(hit(3), base))} at 3 peers and ${formatRatio(ratio(hit(10_000), base10k))} at 10 000.`,
      `Assignment (smooth weighted round robin scans every peer): 10 000 peers / 3 peers = **${formatRatio(ratio(fresh(10_000), fresh(3)))}**; ` +
        `time per peer scanned ${SIZES.map((n) => `${formatDuration(fresh(n) / n)} at ${formatCount(n)}`).join(', ')} ` +
        '(a scan that stays in cache keeps these close).',
    ]
    return renderSection({
      title: 'decide',
      machine,
      method:
        `mitata, median time per call, best of ${formatPlural(options.quick ? QUICK_BUDGET.rounds : FULL_BUDGET.rounds, 'interleaved round')}. ` +
        'Baseline: `parseCookie` plus one `Map.get` on the same header (the least any sticky decision must do). ' +
        'md5 cookie values; the header carries five other cookies.',
      body: [table, ...notes],
    })
  },
}
