import { createHash, createHmac } from 'node:crypto'
import { hmac, md5, sha1, sha256 } from 'sticky-core'
import { formatDuration, formatPlural, formatRatio } from './format'
import { describeMachine } from './machine'
import { renderTable } from './markdown'
import { FULL_BUDGET, measureCases, microCase, QUICK_BUDGET } from './micro'
import { ratio } from './stats'
import { renderSection, type BenchOptions, type BenchSubject } from './subject'

/** A short route key, as hashed once per peer when a balancer is configured. */
const ROUTE_KEY = '10.0.0.1:8080'
const HMAC_KEY = 'a secret of twenty-nine bytes'

interface HashPair {
  readonly label: string
  readonly ours: (input: string) => string
  readonly node: (input: string) => string
}

const PAIRS: readonly HashPair[] = [
  { label: 'md5', ours: md5, node: (s) => createHash('md5').update(s).digest('hex') },
  { label: 'sha1', ours: sha1, node: (s) => createHash('sha1').update(s).digest('hex') },
  { label: 'sha256', ours: sha256, node: (s) => createHash('sha256').update(s).digest('hex') },
  { label: 'hmac md5', ours: (s) => hmac('md5', HMAC_KEY, s), node: (s) => createHmac('md5', HMAC_KEY).update(s).digest('hex') },
  { label: 'hmac sha1', ours: (s) => hmac('sha1', HMAC_KEY, s), node: (s) => createHmac('sha1', HMAC_KEY).update(s).digest('hex') },
]

/** The core's pure-TypeScript digests against `node:crypto` (OpenSSL), on a short route key. */
export const hashBench: BenchSubject = {
  name: 'hash',
  async run(options: BenchOptions): Promise<string> {
    const machine = describeMachine()
    for (const pair of PAIRS) {
      if (pair.ours(ROUTE_KEY) !== pair.node(ROUTE_KEY)) throw new Error(`${pair.label}: sticky-core and node:crypto disagree`)
    }
    const cases = PAIRS.flatMap((pair) => [
      microCase(`node:crypto ${pair.label}`, () => ROUTE_KEY, pair.node),
      microCase(`sticky-core ${pair.label}`, () => ROUTE_KEY, pair.ours),
    ])
    const times = await measureCases(cases, options.quick ? QUICK_BUDGET : FULL_BUDGET, options.log)
    const table = renderTable(
      [
        { header: 'digest, hex', align: 'left' },
        { header: 'node:crypto (baseline)', align: 'right' },
        { header: 'sticky-core', align: 'right' },
        { header: 'sticky-core × baseline', align: 'right' },
      ],
      PAIRS.map((pair) => {
        const node = times.get(`node:crypto ${pair.label}`)!
        const ours = times.get(`sticky-core ${pair.label}`)!
        return [pair.label, formatDuration(node), formatDuration(ours), formatRatio(ratio(ours, node))]
      }),
    )
    return renderSection({
      title: 'hash',
      machine,
      method:
        `mitata, median time per call, best of ${formatPlural(options.quick ? QUICK_BUDGET.rounds : FULL_BUDGET.rounds, 'interleaved round')}, ` +
        `over the ${ROUTE_KEY.length}-byte route key \`${ROUTE_KEY}\`. Baseline: \`node:crypto\` \`createHash\`/\`createHmac\` ` +
        'with `digest("hex")`. The core hashes only at configuration time (one value per peer), never per request; ' +
        'it carries its own digests because it runs where `node:crypto` does not.',
      body: [table],
    })
  },
}
