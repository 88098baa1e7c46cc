import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import WebSocket from 'ws'
import { SOCKET_PATH, startBackend, WHOAMI_PATH } from './_backends'
import { chromiumGate, findChromium, tail } from './_chromium'
import { ERROR_PREFIX, readPageOutput, renderPage, RESULT_PREFIX } from './_page'
import { arbitraryHeader, arbitraryText, drawSamples, seed } from './_samples'
import { encodeResult, type Samples } from './_scenario'
import { stepOf } from './_sticky-scenario'

const arbitrarySamples: fc.Arbitrary<Samples> = fc.record({
  texts: fc.array(arbitraryText, { maxLength: 5 }),
  bytes: fc.array(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 }), { maxLength: 3 }),
  headers: fc.array(arbitraryHeader, { maxLength: 5 }),
  addresses: fc.array(fc.constant('127.0.0.1:9001'), { maxLength: 2 }),
})

// ---------------------------------------------------------------- encodeResult
const Encode = suite('encodeResult')

const encodeCases: ReadonlyArray<{ name: string; value: unknown; encoded: string }> = [
  { name: 'a lone surrogate as an escape', value: 'a\ud800', encoded: '"a\\ud800"' },
  { name: 'markup characters as escapes', value: '</pre>&', encoded: '"\\u003c/pre\\u003e\\u0026"' },
  { name: 'non-ASCII as escapes', value: ['\u00e9', '\ud83d\ude00'], encoded: '["\\u00e9","\\ud83d\\ude00"]' },
  { name: 'undefined as null', value: undefined, encoded: 'null' },
]
for (const { name, value, encoded } of encodeCases) {
  Encode(`should write ${name}`, () => {
    assert.is(encodeResult(value), encoded)
  })
}

Encode('should give back any JSON value, in printable ASCII free of markup characters', () => {
  fc.assert(
    fc.property(fc.oneof(fc.jsonValue(), fc.array(arbitraryText)), (value) => {
      const encoded = encodeResult(value)
      assert.ok(/^[\x20-\x7e]*$/.test(encoded), encoded)
      assert.not.match(encoded, /[<>&]/)
      assert.equal(JSON.parse(encoded), JSON.parse(JSON.stringify(value)))
    }),
    { seed },
  )
})
Encode.run()

// ---------------------------------------------------------------- renderPage
const Render = suite('renderPage')

Render('should keep any samples inside the one module script', () => {
  fc.assert(
    fc.property(arbitrarySamples, arbitraryText, (samples, scenario) => {
      const page = renderPage(scenario.replace(/<\/script/gi, ''), samples)
      assert.is(page.match(/<\/script/gi)?.length, 1)
      assert.is(page.match(/<pre id="out">/g)?.length, 1)
      const literal = encodeResult(samples)
      assert.ok(page.includes(`runScenario(core, ${literal})`))
    }),
    { seed },
  )
})
Render.run()

// ---------------------------------------------------------------- readPageOutput
const Read = suite('readPageOutput')

const dump = (text: string): string => `<html><head></head><body><pre id="out">${text}</pre><script type="module">x</script></body></html>`

Read('should give back the result the page encoded', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.string(), (result, userAgent) => {
      const environment = { userAgent, hasDocument: true }
      const output = readPageOutput(dump(RESULT_PREFIX + encodeResult({ environment, result })))
      assert.equal(output, { kind: 'result', environment, result: JSON.parse(JSON.stringify(result)) })
    }),
    { seed },
  )
})

const readCases: ReadonlyArray<{ name: string; html: string; kind: string }> = [
  { name: 'an error message', html: dump(`${ERROR_PREFIX}"TypeError: x"`), kind: 'error' },
  { name: 'a page whose script did not run', html: dump('PENDING'), kind: 'missing' },
  { name: 'a truncated result', html: dump(`${RESULT_PREFIX}{"environment":`), kind: 'missing' },
  { name: 'a result without its fields', html: dump(`${RESULT_PREFIX}[1]`), kind: 'missing' },
  { name: 'an error that is no string', html: dump(`${ERROR_PREFIX}42`), kind: 'missing' },
  { name: 'no output element', html: '<html></html>', kind: 'missing' },
]
for (const { name, html, kind } of readCases) {
  Read(`should read ${name} as ${kind}`, () => {
    assert.is(readPageOutput(html).kind, kind)
  })
}

Read('should never throw, whatever the browser printed', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.string().map(dump),
        fc.string().map((s) => dump(RESULT_PREFIX + s)),
      ),
      (html) => {
        readPageOutput(html)
      },
    ),
    { seed },
  )
})
Read.run()

// ---------------------------------------------------------------- tail
const Tail = suite('tail')

Tail('should keep the last lines, without D-Bus noise or blank lines', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.string(), fc.constant('[1:2:ERROR:dbus/bus.cc:405] Failed to connect'))),
      fc.integer({ min: 1, max: 5 }),
      (lines, count) => {
        const kept = lines.flatMap((line) => line.split('\n')).filter((line) => line.trim() !== '' && !line.includes('dbus/'))
        assert.equal(tail(lines.join('\n'), count), kept.slice(-count).join('\n'))
      },
    ),
    { seed },
  )
})
Tail.run()

// ---------------------------------------------------------------- findChromium
const Find = suite('findChromium')

Find('should not offer a path that is missing or not executable', () => {
  assert.is(findChromium({ CHROMIUM_PATH: '/nonexistent/chromium' }), undefined)
  assert.is(findChromium({ CHROMIUM_PATH: __filename }), undefined)
})

Find('should take CHROMIUM_PATH when it is executable', () => {
  assert.is(findChromium({ CHROMIUM_PATH: process.execPath }), process.execPath)
})
Find.run()

// ---------------------------------------------------------------- drawSamples
const Draw = suite('drawSamples')

Draw('should draw the same samples from the same seed', () => {
  assert.equal(drawSamples(seed), drawSamples(seed))
  assert.ok(drawSamples(seed).texts.length > 0)
})
Draw.run()

// ---------------------------------------------------------------- chromiumGate
const Gate = suite('chromiumGate')

Gate('should run an executable Chromium, CI or not', () => {
  for (const CI of [undefined, '', 'true']) {
    assert.equal(chromiumGate('x test', { CHROMIUM_PATH: process.execPath, CI }), { kind: 'run', executable: process.execPath })
  }
})

Gate('should not run, and say so, when Chromium is missing outside CI', () => {
  for (const CI of [undefined, '']) {
    const gate = chromiumGate('x test', { CHROMIUM_PATH: '/nonexistent/chromium', CI })
    assert.is(gate.kind, 'not-run')
    if (gate.kind === 'not-run') assert.match(gate.message, /^x test NOT RUN: Chromium not found at \/nonexistent\/chromium;/)
  }
})

Gate('should fail when Chromium is missing under CI', () => {
  for (const CI of ['true', '1']) {
    const gate = chromiumGate('x test', { CHROMIUM_PATH: '/nonexistent/chromium', CI })
    assert.is(gate.kind, 'fail')
    if (gate.kind === 'fail') assert.match(gate.message, /CI must install it/)
  }
})
Gate.run()

// ---------------------------------------------------------------- startBackend
const Backends = suite('startBackend')

Backends('should serve its page, its JSON and its WebSocket, each naming it, and refuse connections once stopped', async () => {
  const backend = await startBackend('b1')
  try {
    const origin = `http://${backend.address}`
    const page = await fetch(`${origin}/page?step=p`, { headers: { cookie: 'route=x' } })
    assert.is(page.status, 200)
    const html = await page.text()
    assert.ok(html.includes('<h1 id="backend">b1</h1>'), html)
    assert.ok(html.includes('<link rel="icon" href="data:,">'), 'no favicon request')
    const json = await fetch(`${origin}${WHOAMI_PATH}?step=j`)
    assert.equal(await json.json(), { backend: 'b1', url: `${WHOAMI_PATH}?step=j`, cookie: null })
    assert.is((await fetch(`${origin}/favicon.ico`)).status, 404)

    const ws = new WebSocket(`ws://${backend.address}${SOCKET_PATH}?step=w`, { headers: { cookie: 'route=y' } })
    const messages: string[] = []
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (data) => {
        messages.push(String(data))
        if (messages.length === 1) ws.send('ping')
        else resolve()
      })
      ws.once('error', reject)
    })
    assert.equal(messages, [JSON.stringify({ backend: 'b1', cookie: 'route=y' }), 'b1:ping'])
    assert.equal(
      backend.requests.map((r) => [r.kind, r.url, r.cookie]),
      [
        ['http', '/page?step=p', 'route=x'],
        ['http', `${WHOAMI_PATH}?step=j`, null],
        ['http', '/favicon.ico', null],
        ['websocket', `${SOCKET_PATH}?step=w`, 'route=y'],
      ],
    )

    await backend.stop()
    assert.is(backend.stopped, true)
    assert.is(await closed, 1006, 'the open WebSocket is cut without a close frame')
    assert.is(backend.server.listening, false)
    const refused = await fetch(`${origin}/page`).then(
      () => 'answered',
      (error: unknown) => String((error as { cause?: { code?: string } }).cause?.code),
    )
    assert.is(refused, 'ECONNREFUSED')
  } finally {
    await backend.stop()
  }
})
Backends.run()

// ---------------------------------------------------------------- stepOf
const Steps = suite('stepOf')

Steps('should read the step parameter of a request target', () => {
  assert.is(stepOf('/page?step=s1-nav1'), 's1-nav1')
  assert.is(stepOf('/api/whoami?x=1&step=s2-fetch1'), 's2-fetch1')
  assert.is(stepOf('/favicon.ico'), null)
})
Steps.run()
