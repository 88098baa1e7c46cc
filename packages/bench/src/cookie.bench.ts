import { parse as referenceParse } from 'cookie'
import { parseCookie } from 'sticky-core'
import { formatDuration, formatPlural, formatRatio } from './format'
import { hostileHeaders, hugeHeader, typicalHeader } from './fixtures'
import { describeMachine } from './machine'
import { renderTable } from './markdown'
import { FULL_BUDGET, measureCases, microCase, QUICK_BUDGET } from './micro'
import { ratio } from './stats'
import { renderSection, type BenchOptions, type BenchSubject } from './subject'

const NAME = 'route'
const VALUE = 'e2c5f8a2b1d04c6e9f3a7b8c1d2e3f40'
/** Node's default limit for all request headers together (`--max-http-header-size`). */
const NODE_HEADER_LIMIT = 16 * 1024

/** `parseCookie` against the jshttp `cookie` package's `parse`, the ecosystem's reference. */
export const cookieBench: BenchSubject = {
  name: 'cookie',
  async run(options: BenchOptions): Promise<string> {
    const machine = describeMachine()
    const headers: ReadonlyArray<readonly [label: string, header: string, expected: string | undefined]> = [
      ['typical (6 pairs, ours 4th)', typicalHeader(NAME, VALUE), VALUE],
      ['only ours', `${NAME}=${VALUE}`, VALUE],
      ['64 KiB of short pairs, ours last', hugeHeader(NAME, VALUE), VALUE],
      ...hostileHeaders(NODE_HEADER_LIMIT).map(([label, header]) => [`hostile: ${label}`, header, undefined] as const),
    ]
    for (const [label, header, expected] of headers) {
      const ours = parseCookie(header, NAME)
      const theirs = referenceParse(header)[NAME]
      if (ours !== expected || theirs !== expected) {
        throw new Error(`cookie fixture "${label}": parseCookie gives ${String(ours)}, cookie.parse ${String(theirs)}, expected ${String(expected)}`)
      }
    }
    const cases = headers.flatMap(([label, header]) => [
      microCase(
        `cookie.parse: ${label}`,
        () => header,
        (h) => referenceParse(h)[NAME],
      ),
      microCase(
        `parseCookie: ${label}`,
        () => header,
        (h) => parseCookie(h, NAME),
      ),
    ])
    const times = await measureCases(cases, options.quick ? QUICK_BUDGET : FULL_BUDGET, options.log)
    const table = renderTable(
      [
        { header: 'Cookie header', align: 'left' },
        { header: 'cookie.parse (baseline)', align: 'right' },
        { header: 'parseCookie', align: 'right' },
        { header: 'parseCookie × baseline', align: 'right' },
      ],
      headers.map(([label]) => {
        const theirs = times.get(`cookie.parse: ${label}`)!
        const ours = times.get(`parseCookie: ${label}`)!
        return [label, formatDuration(theirs), formatDuration(ours), formatRatio(ratio(ours, theirs))]
      }),
    )
    return renderSection({
      title: 'cookie',
      machine,
      method:
        `mitata, median time per call, best of ${formatPlural(options.quick ? QUICK_BUDGET.rounds : FULL_BUDGET.rounds, 'interleaved round')}. ` +
        'Baseline: `cookie.parse(header)[name]` from the jshttp `cookie` package (it builds an object of every pair and ' +
        'decodes percent-escapes; `parseCookie` finds one name and decodes nothing). Hostile headers are 16 KiB, ' +
        "Node's default limit for all headers; none contains the sticky cookie.",
      body: [table],
    })
  },
}
