import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { formatDuration } from 'sticky-core'
import { startBackend, type DemoBackend } from './demo-backends'
import { createBrowser, type DemoBrowser, type Visit } from './demo-browser'
import { renderTable } from './demo-table'
import { createStickyProxy, type StickyProxy } from './proxy'

/** Options of {@link runDemo}; the defaults are what `sticky-proxy demo` shows. */
export interface DemoOptions {
  /** The peers' `failTimeout` (nginx `fail_timeout`): short, so that recovery is visible. @default 2000 */
  readonly failTimeout?: number | undefined
}

const COOKIE_NAME = 'route'
const FIRST_BROWSERS = 6
const LATE_BROWSERS = 2
const NEW_BROWSERS = 4

/**
 * `sticky-proxy demo`: three backends and the sticky proxy on 127.0.0.1, simulated browsers with their own
 * cookie jars, then a backend failure and its recovery, narrated through `write` one line at a time.
 *
 * Runs in-process and releases every server, socket and timer it created before it resolves.
 */
export async function runDemo(write: (line: string) => void, options: DemoOptions = {}): Promise<void> {
  const failTimeout = options.failTimeout ?? 2_000
  const backends: DemoBackend[] = []
  const browsers: DemoBrowser[] = []
  let proxy: StickyProxy | undefined
  const server = createServer((req, res) => {
    if (proxy === undefined) res.writeHead(503).end()
    else proxy(req, res)
  })
  try {
    for (const name of ['A', 'B', 'C']) backends.push(await startBackend(name))
    proxy = createStickyProxy({
      peers: backends.map((backend) => ({ address: backend.address, maxFails: 1, failTimeout })),
      cookie: { name: COOKIE_NAME, httpOnly: true, sameSite: 'Lax' },
    })
    const balancer = proxy.balancer
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    const nameOf = new Map(backends.map((backend) => [backend.address, backend.name]))
    const victim = backends[1]
    if (victim === undefined) throw new Error('the demo needs three backends')
    const newBrowser = (): DemoBrowser => {
      const browser = createBrowser(`browser ${browsers.length + 1}`, port, COOKIE_NAME)
      browsers.push(browser)
      return browser
    }

    write('sticky-proxy demo: cookie-based sticky load balancing, live on 127.0.0.1')
    write('')
    write('Three backends (node:http servers; each answers with its letter), and the cookie value that pins to each:')
    for (const peer of balancer.peers) write(`  ${nameOf.get(peer.address) ?? '?'}  ${peer.address}   ${COOKIE_NAME}=${balancer.cookieValue(peer)}`)
    write(`The sticky proxy listens on http://127.0.0.1:${port} (cookie "${COOKIE_NAME}" = md5 of the backend address,`)
    write(`max-fails 1, fail-timeout ${formatDuration(failTimeout)}). Each simulated browser has its own cookie jar and`)
    write('sends real HTTP requests through the proxy.')

    write('')
    write(`1. All backends up. ${FIRST_BROWSERS} browsers, 3 requests each. The first request has no cookie: the proxy`)
    write('   picks a backend by round robin and sets a cookie. Later requests carry the cookie and stay pinned.')
    write('')
    const first = Array.from({ length: FIRST_BROWSERS }, newBrowser)
    const pinned = new Map<DemoBrowser, string | undefined>()
    const phase1: string[][] = []
    for (const browser of first) {
      const visits = await visitTimes(browser, 3)
      pinned.set(browser, visits.at(-1)?.backend)
      phase1.push([browser.name, ...visits.map(cell)])
    }
    table(write, ['', 'request 1', 'request 2', 'request 3'], phase1)

    write('')
    write(`2. Backend ${victim.name} stops (its process is gone). Each browser sends 2 more requests.`)
    write(`   The proxy's connection to ${victim.name} fails, so it retries on a live backend and re-pins the`)
    write(`   browser with a new cookie. Browsers pinned elsewhere are not touched.`)
    write('')
    await victim.stop()
    const phase2: string[][] = []
    const moved: string[] = []
    for (const browser of first) {
      const before = pinned.get(browser)
      const visits = await visitTimes(browser, 2)
      pinned.set(browser, visits.at(-1)?.backend)
      if (visits.some((visit) => visit.cookie === 'changed')) moved.push(browser.name)
      phase2.push([browser.name, before ?? '-', ...visits.map(cell)])
    }
    const failedAt = Date.now()
    table(write, ['', 'pinned to', 'request 4', 'request 5'], phase2)

    write('')
    write(`3. Backend ${victim.name} restarts. For fail-timeout (${formatDuration(failTimeout)}) after its failure the proxy still`)
    write(`   leaves it out, so ${LATE_BROWSERS} new browsers arriving now go to the others.`)
    write('')
    await victim.restart()
    const phase3: string[][] = []
    for (const browser of Array.from({ length: LATE_BROWSERS }, newBrowser)) {
      const visits = await visitTimes(browser, 1)
      pinned.set(browser, visits.at(-1)?.backend)
      phase3.push([browser.name, ...visits.map(cell)])
    }
    table(write, ['', 'request 1'], phase3)

    await sleep(Math.max(0, failedAt + failTimeout + 100 - Date.now()))
    write('')
    write(`4. fail-timeout is over: ${victim.name} is usable again and takes its share of new browsers. Browsers that`)
    write(`   were moved away from ${victim.name} stay where their cookie now points: nobody is moved twice.`)
    write('')
    const phase4: string[][] = []
    let rejoined = 0
    for (const browser of [...first, ...Array.from({ length: NEW_BROWSERS }, newBrowser)]) {
      const before = pinned.get(browser)
      const visits = await visitTimes(browser, 2)
      if (before === undefined && visits[0]?.backend === victim.name) rejoined += 1
      phase4.push([browser.name, before ?? '-', ...visits.map(cell)])
    }
    table(write, ['', 'pinned to', 'request 6', 'request 7'], phase4)

    write('')
    write(`In short: when ${victim.name} stopped, the ${count(moved.length, 'browser')} pinned to it were re-pinned (${moved.join(', ') || 'none'}), the other`)
    write(
      `${count(FIRST_BROWSERS - moved.length, 'browser')} kept their backend, and after fail-timeout ${victim.name} took ${rejoined} of ${NEW_BROWSERS} new browsers.`,
    )

    write('')
    write('Legend: "new cookie" = first visit, a backend was assigned; "re-pinned" = the pinned backend was')
    write('unusable, the browser got a cookie for another one; a bare letter = the cookie was honoured.')
    write('Try it yourself: sticky-proxy --listen 8080 --upstream 127.0.0.1:9001 --upstream 127.0.0.1:9002')
  } finally {
    for (const browser of browsers) browser.close()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    proxy?.close()
    await Promise.all(backends.map((backend) => backend.stop()))
  }
}

async function visitTimes(browser: DemoBrowser, times: number): Promise<Visit[]> {
  const visits: Visit[] = []
  for (let i = 0; i < times; i += 1) visits.push(await browser.visit('/'))
  return visits
}

function cell(visit: Visit): string {
  const who = visit.backend ?? `${visit.status} from the proxy`
  if (visit.cookie === 'new') return `${who}  new cookie`
  if (visit.cookie === 'changed') return `${who}  re-pinned`
  return who
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

function table(write: (line: string) => void, header: readonly string[], rows: readonly (readonly string[])[]): void {
  for (const line of renderTable(header, rows)) write(line)
}
