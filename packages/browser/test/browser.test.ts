import { createHash, createHmac } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { chromiumGate, dumpDom, tail } from './_chromium'
import { readPageOutput, renderPage, scenarioScript, type PageOutput } from './_page'
import { drawSamples, seed } from './_samples'
import {
  type Core,
  type Digests,
  encodeResult,
  HASH_CASES,
  HMAC_KEY,
  LONG_HMAC_KEY,
  ROUTE_KEY,
  runScenario,
  type ScenarioResult,
  SOCKADDR_9002,
} from './_scenario'
import { CORE_PATH, startPageServer } from './_server'

/** The file the browser gets, and the one Node imports: the built ESM entry of the core. */
const CORE_FILE = join(__dirname, '..', '..', 'sticky-core', 'dist', 'index.js')
/** Chromium starts and dumps the page in 1 to 2 s here; the margin covers a busy CI machine. */
const BROWSER_TIMEOUT_MS = 12_000

const samples = drawSamples(seed)

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined
  return () => (promise ??= make())
}

const builtCore = once(async (): Promise<Core> => {
  if (!existsSync(CORE_FILE)) throw new Error(`sticky-core is not built (${CORE_FILE} is missing): run tsup in packages/sticky-core`)
  return (await import(pathToFileURL(CORE_FILE).href)) as Core
})

const nodeResult = once(async (): Promise<ScenarioResult> => runScenario(await builtCore(), samples))

interface BrowserRun {
  readonly output: PageOutput
  readonly requests: readonly string[]
  readonly stderr: string
}

function browserRun(chromium: string): () => Promise<BrowserRun> {
  return once(async () => {
    await builtCore()
    const server = await startPageServer({ page: renderPage(scenarioScript(), samples), core: readFileSync(CORE_FILE, 'utf8') })
    try {
      const dump = await dumpDom(chromium, server.url, BROWSER_TIMEOUT_MS)
      return { output: readPageOutput(dump.html), requests: [...server.requests], stderr: dump.stderr }
    } finally {
      await server.close()
    }
  })
}

const nodeDigest = (algorithm: 'md5' | 'sha1' | 'sha256', input: string | Uint8Array): string =>
  createHash(algorithm)
    .update(typeof input === 'string' ? new TextEncoder().encode(input) : input)
    .digest('hex')

const nodeHmac = (algorithm: 'md5' | 'sha1' | 'sha256', key: string | Uint8Array, input: string | Uint8Array): string =>
  createHmac(algorithm, typeof key === 'string' ? new TextEncoder().encode(key) : key)
    .update(typeof input === 'string' ? new TextEncoder().encode(input) : input)
    .digest('hex')

/** The digests node:crypto gives, as an independent reference for the core's own hash code. */
function nodeDigests(input: string | Uint8Array): Digests {
  return {
    md5: nodeDigest('md5', input),
    sha1: nodeDigest('sha1', input),
    sha256: nodeDigest('sha256', input),
    hmacMd5: nodeHmac('md5', HMAC_KEY, input),
    hmacSha1: nodeHmac('sha1', HMAC_KEY, input),
    hmacSha256: nodeHmac('sha256', HMAC_KEY, input),
    hmacSha256LongKey: nodeHmac('sha256', Uint8Array.from(LONG_HMAC_KEY), input),
  }
}

// ---------------------------------------------------------------- runScenario, in Node
const InNode = suite('runScenario in Node')

InNode("should hash the seed's route key to nginx's cookie value", async () => {
  const { hashes, values } = await nodeResult()
  assert.is(hashes[0]?.digests.md5, '422db4e6da7b4bba46bd476612df0469')
  assert.equal(values.find((v) => v.mode === 'default')?.values[0], [ROUTE_KEY, '422db4e6da7b4bba46bd476612df0469'])
})

for (const [index, { name, input }] of HASH_CASES.entries()) {
  InNode(`should digest ${name} as node:crypto does`, async () => {
    const { hashes } = await nodeResult()
    assert.equal(hashes[index]?.digests, nodeDigests(typeof input === 'string' ? input : Uint8Array.from(input)))
  })
}

InNode('should digest the drawn texts and bytes as node:crypto does', async () => {
  const result = await nodeResult()
  assert.equal(
    result.samples.texts,
    samples.texts.map((text) => nodeDigests(text)),
  )
  assert.equal(
    result.samples.bytes,
    samples.bytes.map((bytes) => nodeDigests(Uint8Array.from(bytes))),
  )
  assert.equal(
    result.samples.addresses,
    samples.addresses.map((address) => [address, nodeDigest('md5', address)]),
  )
})

InNode('should derive the cookie value of every peer in every mode from its route key', async () => {
  const longKey = Uint8Array.from(LONG_HMAC_KEY)
  const expected: Record<string, (input: string, index: number) => string> = {
    default: (input) => nodeDigest('md5', input),
    md5: (input) => nodeDigest('md5', input),
    sha1: (input) => nodeDigest('sha1', input),
    index: (_, index) => String(index),
    raw: (input) => input,
    'hmac md5': (input) => nodeHmac('md5', HMAC_KEY, input),
    'hmac sha1': (input) => nodeHmac('sha1', HMAC_KEY, input),
    'hmac sha256 (bytes key)': (input) => nodeHmac('sha256', longKey, input),
  }
  const { values } = await nodeResult()
  assert.equal(
    values.map((v) => v.mode),
    Object.keys(expected),
  )
  for (const { mode, values: pairs } of values) {
    const derive = expected[mode]!
    assert.equal(
      pairs,
      [
        [ROUTE_KEY, derive(ROUTE_KEY, 0)],
        ['[::1]:9002', derive('[::1]:9002', 1)],
        ['app.internal:80', derive('app.internal:80', 2)],
        // `route=` is the value verbatim, and under hmac the input of the HMAC.
        ['127.0.0.1:9003', mode.startsWith('hmac') ? derive('c', 3) : 'c'],
      ],
      mode,
    )
  }
})

InNode('should run the decide scenario to the outcomes nginx gives', async () => {
  const { decisions } = await nodeResult()
  assert.equal(
    decisions.map((d) => [d.step, d.outcome, d.status]),
    [
      ['new', 'new', null],
      ['new again', 'new', null],
      ['hit', 'hit', null],
      ['hit among other cookies', 'hit', null],
      ['repinned after a failure', 'repinned', null],
      ['invalid forged cookie', 'invalid', null],
      ['invalid oversized cookie', 'invalid', null],
      ['legacy sockaddr cookie', 'hit', null],
      ['hit once the failure window passed', 'hit', null],
      ['retry excluding the pinned peer', 'repinned', null],
      ['sliding expiry on a hit', 'hit', null],
      ['no_fallback: 502 for an unusable pinned peer', 'unavailable', 502],
      ['no_fallback: first visits still balanced', 'new', null],
    ],
  )
  const byStep = new Map(decisions.map((d) => [d.step, d]))
  // Weight 2 makes the third peer smooth weighted round robin's first pick.
  assert.is(
    byStep.get('new')?.setCookie,
    `route=${nodeDigest('md5', '127.0.0.1:9003')}; Path=/; Expires=Thu, 01 Jan 2026 13:00:00 GMT; Max-Age=3600; Secure; HttpOnly; SameSite=Lax`,
  )
  assert.is(byStep.get('hit')?.peer, ROUTE_KEY)
  assert.is(byStep.get('hit')?.setCookie, null)
  assert.is.not(byStep.get('repinned after a failure')?.peer, ROUTE_KEY)
  assert.is(byStep.get('legacy sockaddr cookie')?.peer, '127.0.0.1:9002')
  assert.ok(byStep.get('legacy sockaddr cookie')?.setCookie?.startsWith(`route=${nodeDigest('md5', '127.0.0.1:9002')};`))
  assert.is.not(nodeDigest('md5', Uint8Array.from(SOCKADDR_9002)), nodeDigest('md5', '127.0.0.1:9002'))
  assert.is(byStep.get('no_fallback: 502 for an unusable pinned peer')?.peer, null)
  assert.ok(byStep.get('sliding expiry on a hit')?.setCookie?.includes('; Max-Age=34560000'))
})

InNode('should read only the first exact-name pair from hostile headers', async () => {
  const { parsed } = await nodeResult()
  const route = new Map(parsed.map((p) => [p.header, p]))
  const cases: ReadonlyArray<[string, string | null, string | null]> = [
    ['', null, null],
    ['route', null, null],
    ['a=1; route=first; route=second', 'first', null],
    ['ROUTE=upper; Route=mixed', null, null],
    ['__proto__=polluted; constructor=1; route=ok', 'ok', 'polluted'],
    ['route="abc"', 'abc', null],
    ['\troute\t=\ttabs\t', 'tabs', null],
  ]
  for (const [header, value, proto] of cases) {
    assert.is(route.get(header)?.route, value, header)
    assert.is(route.get(header)?.proto, proto, header)
  }
})

InNode('should serialize with the RFC spelling and reject what user agents would drop', async () => {
  const { serialized } = await nodeResult()
  const byCase = new Map(serialized.map((s) => [s.case, s]))
  assert.is(byCase.get('bare')?.header, 'route=abc')
  assert.is(
    byCase.get('every attribute')?.header,
    'route=422db4e6da7b4bba46bd476612df0469; Domain=.example.com; Path=/app; Expires=Thu, 01 Jan 2026 12:00:00 GMT; Max-Age=3600; Secure; HttpOnly; SameSite=Strict; Partitioned',
  )
  for (const name of ['a name that is no token', 'a value with a semicolon', 'SameSite=None without Secure', '__Host- with a domain']) {
    assert.is(byCase.get(name)?.header, null, name)
    assert.is(byCase.get(name)?.error?.isStickyConfigError, true, name)
  }
})

InNode('should throw StickyConfigError, a TypeError naming the option, for each bad configuration', async () => {
  const { errors } = await nodeResult()
  assert.is(errors.length, 8)
  for (const failure of errors.slice(0, -1)) {
    assert.ok(failure.threw, failure.case)
    assert.is(failure.name, 'StickyConfigError', failure.case)
    assert.ok(failure.isTypeError && failure.isStickyConfigError, failure.case)
    assert.ok(failure.option !== null && failure.option !== '' && failure.message?.includes(failure.option), failure.case)
  }
  assert.is(errors[0]?.option, 'peers')
  assert.is(errors.at(-1)?.threw, false)
})
InNode.run()

// ---------------------------------------------------------------- runScenario, in Chromium
const gate = chromiumGate('browser test')

if (gate.kind === 'not-run') {
  // Registering nothing: the repository's runner miscounts uvu skips.
  process.stdout.write(`${gate.message}\n`)
} else if (gate.kind === 'fail') {
  const Missing = suite('runScenario in Chromium')
  Missing('should find Chromium (CI must install it)', () => {
    assert.unreachable(gate.message)
  })
  Missing.run()
} else {
  const chromium = gate.executable
  const inBrowser = browserRun(chromium)
  const browserResult = async (): Promise<{ result: unknown; run: BrowserRun }> => {
    const run = await inBrowser()
    const { output } = run
    if (output.kind === 'error') assert.unreachable(`the page threw: ${output.message}`)
    if (output.kind === 'missing') {
      assert.unreachable(`the page wrote no result (module script not run?): ${output.text}\nChromium stderr:\n${tail(run.stderr)}`)
    }
    return { result: output.kind === 'result' ? output.result : undefined, run }
  }
  const InChromium = suite('runScenario in Chromium')

  InChromium('should run the module script in headless Chromium, not in Node', async () => {
    const { run } = await browserResult()
    assert.ok(run.output.kind === 'result')
    if (run.output.kind !== 'result') return
    assert.match(run.output.environment.userAgent, /HeadlessChrome\//)
    assert.is(run.output.environment.hasDocument, true)
  })

  InChromium('should load the page and the built core from the test server', async () => {
    const { run } = await browserResult()
    assert.ok(run.requests.includes('GET /'), run.requests.join(', '))
    assert.ok(run.requests.includes(`GET ${CORE_PATH}`), run.requests.join(', '))
  })

  const sections: readonly (keyof ScenarioResult)[] = ['hashes', 'values', 'decisions', 'parsed', 'serialized', 'errors', 'samples']
  for (const section of sections) {
    InChromium(`should agree with Node on ${section}`, async () => {
      const { result } = await browserResult()
      const fromBrowser = (result as Partial<ScenarioResult> | undefined)?.[section]
      assert.ok(fromBrowser !== undefined, `the browser result has no ${section}`)
      assert.equal(fromBrowser, JSON.parse(encodeResult((await nodeResult())[section])))
    })
  }

  InChromium('should agree with Node on the whole result', async () => {
    const { result } = await browserResult()
    assert.equal(result, JSON.parse(encodeResult(await nodeResult())))
  })
  InChromium.run()
}
