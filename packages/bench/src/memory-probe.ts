// Child process of memory.bench.ts, started with --expose-gc and a young generation large enough that
// no scavenge runs during a measured loop: heap growth over the loop is then what the loop allocated.
import { PerformanceObserver, performance } from 'node:perf_hooks'
import { createBalancer, parseCookie, type Balancer, type Decision, type Peer } from 'sticky-core'
import { peerAddresses, typicalHeader } from './fixtures'
import { serveParent } from './ipc'

/** One measured loop: bytes allocated per call, and how many collections ran during it. */
export interface Allocation {
  readonly name: string
  readonly calls: number
  readonly bytesPerCall: number
  /** Non-zero means the bytes are a lower bound: a collection freed some of them during the loop. */
  readonly collections: number
}

const gc = (globalThis as { gc?: () => void }).gc
const gcTimes: Array<{ readonly start: number; readonly end: number }> = []
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcTimes.push({ start: entry.startTime, end: entry.startTime + entry.duration })
}).observe({ entryTypes: ['gc'] })

/** Where every loop stores its result, so that the call cannot be optimised away. */
const sink: { value: unknown } = { value: undefined }

async function allocation(name: string, calls: number, input: string | undefined, operation: (input: string | undefined) => unknown): Promise<Allocation> {
  if (gc === undefined) throw new Error('memory-probe needs --expose-gc')
  for (let i = 0; i < Math.min(calls, 100_000); i++) sink.value = operation(input)
  gc()
  gc()
  const started = performance.now()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < calls; i++) sink.value = operation(input)
  const after = process.memoryUsage().heapUsed
  const ended = performance.now()
  // GC entries reach the observer asynchronously: let them arrive before counting the ones in the window.
  await new Promise((resolve) => setTimeout(resolve, 20))
  const collections = gcTimes.filter((t) => t.end >= started && t.start <= ended).length
  return { name, calls, bytesPerCall: (after - before) / calls, collections }
}

function balancerOf(n: number, options: { readonly sliding?: boolean } = {}): { balancer: Balancer; header: string; byValue: Map<string, Peer> } {
  const balancer = createBalancer({ peers: peerAddresses(n), ...(options.sliding === true ? { refresh: 'always', cookie: { expires: 3600 } } : {}) })
  const header = typicalHeader('route', balancer.cookieValue(balancer.peers[n >> 1]!))
  return { balancer, header, byValue: new Map(balancer.peers.map((p) => [balancer.cookieValue(p), p])) }
}

async function main(): Promise<Allocation[]> {
  const calls = Number(process.argv[2] ?? 1_000_000)
  const small = balancerOf(3)
  const large = balancerOf(10_000)
  const sliding = balancerOf(3, { sliding: true })
  const forged = typicalHeader('route', '0123456789abcdef0123456789abcdef')
  const peer = small.balancer.peers[0]!
  const results: Allocation[] = []
  const cases: ReadonlyArray<readonly [string, string | undefined, (input: string | undefined) => unknown]> = [
    ['empty loop', small.header, (h) => h],
    [
      'baseline: parseCookie + Map.get',
      small.header,
      (h) => {
        const value = parseCookie(h, 'route')
        return value === undefined ? undefined : small.byValue.get(value)
      },
    ],
    [
      'reference: one new frozen Decision',
      small.header,
      (h): Decision => Object.freeze({ peer, setCookie: h ?? null, headerValue: null, outcome: 'hit', status: undefined }),
    ],
    ['decide: hit, 3 peers', small.header, (h) => small.balancer.decide(h)],
    ['decide: hit, 10 000 peers', large.header, (h) => large.balancer.decide(h)],
    ["decide: hit, refresh 'always' + expires", sliding.header, (h) => sliding.balancer.decide(h)],
    ['decide: new, 3 peers', undefined, (h) => small.balancer.decide(h)],
    ['decide: invalid (forged cookie)', forged, (h) => small.balancer.decide(h)],
  ]
  for (const [name, input, operation] of cases) results.push(await allocation(name, calls, input, operation))
  return results
}

main().then(
  (results) => serveParent({}, results, () => undefined),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
