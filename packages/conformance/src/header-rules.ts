import fc from 'fast-check'
import { appendForwardedFor } from 'sticky-core'
import * as assert from 'uvu/assert'
import { HOP_RESPONSE, type Backend, type EchoReport } from './backend'
import { send, sendRaw, type RawAnswer } from './client'
import { peersOf, startAdapter, startBackends, type SuiteContext } from './harness'
import { CookieJar } from './jar'
import type { Scope } from './scope'
import { withScope } from './scope'
import type { AdapterOptions, RunningProxy } from './types'

/** The address every client of the suite connects from. */
const CLIENT = '127.0.0.1'
/** The `Host` the raw requests ask for: not the proxy's address, so that each rule shows. */
const CLIENT_HOST = 'sticky.example:8080'

/** Every value of the field `name` (any case) in a raw `[name, value, ...]` list, in order. */
function fieldLines(raw: readonly string[], name: string): string[] {
  const lines: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) lines.push(raw[i + 1] ?? '')
  return lines
}

/** The peer's report of a raw request, after checking that a configured peer answered it. */
function reportOf(answer: RawAnswer, backend: Backend, label: string): EchoReport {
  assert.is(answer.status, 200, `${label}: status (head: ${answer.head.slice(0, 200)})`)
  assert.is(answer.backend, backend.name, `${label}: answered by the peer`)
  return JSON.parse(answer.body.toString('utf8')) as EchoReport
}

/** A raw GET with the extra header lines `lines` (each `Name: value`), closing the connection. */
function rawGet(path: string, lines: readonly string[]): string {
  return [`GET ${path} HTTP/1.1`, `Host: ${CLIENT_HOST}`, ...lines, 'Connection: close', '', ''].join('\r\n')
}

async function onePeer(scope: Scope, ctx: SuiteContext, extra: Omit<AdapterOptions, 'balancer'> = {}): Promise<{ proxy: RunningProxy; backend: Backend }> {
  const [backend] = (await startBackends(scope, 1)) as [Backend]
  const proxy = await startAdapter(scope, ctx.factory, { balancer: { peers: peersOf([backend]) }, ...extra })
  return { proxy, backend }
}

/** A trust list that holds every client of the suite, and one that holds none of them. */
const TRUSTED = { trustProxy: '10.0.0.0/8, 127.0.0.1' }
const UNTRUSTED = { trustProxy: '10.0.0.0/8, ::1' }

/** The elements of a comma-separated list, trimmed; empty elements stay, as `''`, to be seen. */
function listElements(value: string): string[] {
  return value.split(',').map((element) => element.trim())
}

/**
 * Asserts that the peer saw exactly one `X-Forwarded-For` field listing the addresses of `expected`,
 * in order and without empty elements. Only the spacing around commas may differ (RFC 9110 section
 * 5.6.1: a list's elements are separated by a comma and optional whitespace).
 */
function assertForwardedFor(report: EchoReport, expected: string, label: string): void {
  const lines = fieldLines(report.rawHeaders, 'x-forwarded-for')
  assert.is(lines.length, 1, `${label}: one X-Forwarded-For field at the peer, got ${JSON.stringify(lines)}`)
  assert.equal(listElements(lines[0] ?? ''), listElements(expected), `${label}: X-Forwarded-For at the peer is ${JSON.stringify(lines[0])}`)
}

/**
 * The request and response header rules every adapter keeps (sticky-core `forwarding.ts` and
 * `hop-by-hop.ts`): the `X-Forwarded-*` fields, the peer's own `Host`, and hop-by-hop fields, which
 * stay on their hop in both directions. `headers.ts` covers the fields that do pass.
 */
export function headerRules(ctx: SuiteContext): void {
  const { test, seed } = ctx

  test("should extend a trusted proxy's X-Forwarded-For with the client address, leaving out empty fields and joining repeated ones", () =>
    withScope(async (scope) => {
      const { proxy, backend } = await onePeer(scope, ctx, TRUSTED)
      const cases: { lines: string[]; expected: string }[] = [
        { lines: [], expected: CLIENT },
        { lines: ['X-Forwarded-For: '], expected: CLIENT },
        { lines: ['X-Forwarded-For:'], expected: CLIENT },
        { lines: ['X-Forwarded-For: 203.0.113.7'], expected: `203.0.113.7, ${CLIENT}` },
        { lines: ['X-Forwarded-For: 203.0.113.7', 'X-Forwarded-For: 198.51.100.2'], expected: `203.0.113.7, 198.51.100.2, ${CLIENT}` },
        { lines: ['X-Forwarded-For: 203.0.113.7, ', 'X-Forwarded-For:  10.0.0.2'], expected: `203.0.113.7, 10.0.0.2, ${CLIENT}` },
        { lines: ['X-Forwarded-For: ', 'X-Forwarded-For: 203.0.113.7'], expected: `203.0.113.7, ${CLIENT}` },
        { lines: ['x-forwarded-for: ,, 2001:db8::1 ,'], expected: `2001:db8::1, ${CLIENT}` },
      ]
      for (const { lines, expected } of cases) {
        const label = JSON.stringify(lines)
        const report = reportOf(await sendRaw(proxy.url, rawGet('/xff', lines)), backend, label)
        assertForwardedFor(report, expected, label)
      }
    }))

  test('should extend any X-Forwarded-For fields of a trusted proxy as sticky-core appendForwardedFor does (property)', () =>
    withScope(async (scope) => {
      const { proxy, backend } = await onePeer(scope, ctx, TRUSTED)
      const element = fc.constantFrom('203.0.113.7', '10.0.0.2', '2001:db8::1', 'unknown', '_hidden', '')
      const space = fc.constantFrom('', ' ', '  ', '\t')
      const padded = fc.tuple(space, element, space).map(([a, e, b]) => a + e + b)
      const line = fc.array(padded, { minLength: 0, maxLength: 4 }).map((elements) => elements.join(','))
      await fc.assert(
        fc.asyncProperty(fc.array(line, { minLength: 0, maxLength: 3 }), async (values) => {
          const lines = values.map((v) => `X-Forwarded-For: ${v}`)
          const label = JSON.stringify(values)
          const report = reportOf(await sendRaw(proxy.url, rawGet('/xff', lines)), backend, label)
          // A header line's leading and trailing whitespace is not part of its value (RFC 9110 section 5.5).
          assertForwardedFor(
            report,
            appendForwardedFor(
              values.map((v) => v.trim()),
              CLIENT,
            ) ?? CLIENT,
            label,
          )
        }),
        { seed, numRuns: 40 },
      )
    }))

  test('should replace the X-Forwarded-For of a client that is no trusted proxy with its address alone', () =>
    withScope(async (scope) => {
      for (const extra of [{}, UNTRUSTED]) {
        const { proxy, backend } = await onePeer(scope, ctx, extra)
        for (const lines of [[], ['X-Forwarded-For: 203.0.113.7'], ['X-Forwarded-For: 203.0.113.7', 'X-Forwarded-For: 198.51.100.2']]) {
          const label = `${JSON.stringify(extra)} ${JSON.stringify(lines)}`
          assertForwardedFor(reportOf(await sendRaw(proxy.url, rawGet('/xff', lines)), backend, label), CLIENT, label)
        }
      }
    }))

  test("should keep a trusted proxy's X-Forwarded-Proto, -Host and Forwarded, and extend Forwarded when asked", () =>
    withScope(async (scope) => {
      const lines = ['X-Forwarded-Proto: https', 'X-Forwarded-Host: shop.example', 'Forwarded: for=203.0.113.7;proto=https']
      const { proxy, backend } = await onePeer(scope, ctx, { ...TRUSTED, xForwarded: { forwarded: true } })
      const report = reportOf(await sendRaw(proxy.url, rawGet('/trusted', lines)), backend, 'trusted')
      assert.equal(fieldLines(report.rawHeaders, 'x-forwarded-proto'), ['https'], 'X-Forwarded-Proto kept')
      assert.equal(fieldLines(report.rawHeaders, 'x-forwarded-host'), ['shop.example'], 'X-Forwarded-Host kept')
      assert.equal(
        fieldLines(report.rawHeaders, 'forwarded'),
        [`for=203.0.113.7;proto=https, for=${CLIENT};proto=http;host="${CLIENT_HOST}"`],
        'Forwarded extended',
      )

      const untrusted = await onePeer(scope, ctx, { ...UNTRUSTED, xForwarded: { forwarded: true } })
      const replaced = reportOf(await sendRaw(untrusted.proxy.url, rawGet('/untrusted', lines)), untrusted.backend, 'untrusted')
      assert.equal(fieldLines(replaced.rawHeaders, 'x-forwarded-proto'), ['http'], 'X-Forwarded-Proto replaced')
      assert.equal(fieldLines(replaced.rawHeaders, 'x-forwarded-host'), [CLIENT_HOST], 'X-Forwarded-Host replaced')
      assert.equal(fieldLines(replaced.rawHeaders, 'forwarded'), [`for=${CLIENT};proto=http;host="${CLIENT_HOST}"`], 'Forwarded replaced')

      // Without `forwarded`, a trusted proxy's Forwarded passes and anyone else's is dropped.
      const plain = await onePeer(scope, ctx, TRUSTED)
      const passed = reportOf(await sendRaw(plain.proxy.url, rawGet('/plain', lines)), plain.backend, 'plain trusted')
      assert.equal(fieldLines(passed.rawHeaders, 'forwarded'), ['for=203.0.113.7;proto=https'], 'Forwarded passed')
      const other = await onePeer(scope, ctx, UNTRUSTED)
      const dropped = reportOf(await sendRaw(other.proxy.url, rawGet('/plain', lines)), other.backend, 'plain untrusted')
      assert.equal(fieldLines(dropped.rawHeaders, 'forwarded'), [], 'Forwarded dropped')
    }))

  test("should pass a trusted proxy's request id on, generate one for anyone else, and send it both ways", () =>
    withScope(async (scope) => {
      for (const [extra, kept] of [
        [{ ...TRUSTED, requestId: true }, true],
        [{ ...UNTRUSTED, requestId: true }, false],
      ] as const) {
        const { proxy, backend } = await onePeer(scope, ctx, extra)
        const answer = await sendRaw(proxy.url, rawGet('/id', ['X-Request-Id: edge-42']))
        const report = reportOf(answer, backend, JSON.stringify(extra))
        const sent = fieldLines(report.rawHeaders, 'x-request-id')
        assert.is(sent.length, 1, 'one X-Request-Id at the peer')
        if (kept) assert.equal(sent, ['edge-42'])
        else assert.match(sent[0] ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        // The head ends without its CRLF: the field may be the last line (workerd writes it last).
        assert.match(answer.head, new RegExp(`\\r\\nx-request-id: ${sent[0]}(\\r\\n|$)`, 'i'), 'the client gets the same id')
        // A second request without an id gets a new one, different from the first.
        const next = reportOf(await sendRaw(proxy.url, rawGet('/id', [])), backend, 'no id')
        assert.is.not(fieldLines(next.rawHeaders, 'x-request-id')[0], sent[0])
      }
      const { proxy, backend } = await onePeer(scope, ctx, { ...TRUSTED, requestId: 'X-Correlation-Id' })
      const report = reportOf(await sendRaw(proxy.url, rawGet('/id', ['X-Correlation-Id: a b c'])), backend, 'insane id')
      const [id] = fieldLines(report.rawHeaders, 'x-correlation-id')
      assert.ok(id !== undefined && id !== 'a b c' && id.length === 36, 'an id with spaces is replaced')
    }))

  test("should set X-Forwarded-Proto and X-Forwarded-Host from the client's hop, replacing what an untrusted client claimed", () =>
    withScope(async (scope) => {
      const { proxy, backend } = await onePeer(scope, ctx)
      const claims = [
        [],
        ['X-Forwarded-Proto: https', 'X-Forwarded-Host: evil.example'],
        ['X-Forwarded-Proto: https', 'X-Forwarded-Proto: ftp', 'X-Forwarded-Host: a', 'X-Forwarded-Host: b'],
      ]
      for (const lines of claims) {
        const label = JSON.stringify(lines)
        const report = reportOf(await sendRaw(proxy.url, rawGet('/xfp', lines)), backend, label)
        assert.equal(fieldLines(report.rawHeaders, 'x-forwarded-proto'), ['http'], `${label}: X-Forwarded-Proto`)
        assert.equal(fieldLines(report.rawHeaders, 'x-forwarded-host'), [CLIENT_HOST], `${label}: X-Forwarded-Host is the client's Host`)
      }
    }))

  test('should send the peer its own address as Host', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const proxy = await startAdapter(scope, ctx.factory, { balancer: { peers: peersOf(backends) } })
      const seen = new Set<string>()
      for (let i = 0; i < 4; i += 1) {
        const answer = await sendRaw(proxy.url, rawGet(`/host?i=${i}`, []))
        const backend = backends.find((b) => b.name === answer.backend)
        assert.ok(backend, `request ${i}: answered by a configured peer (head: ${answer.head.slice(0, 200)})`)
        if (backend === undefined) return
        const report = reportOf(answer, backend, `request ${i}`)
        assert.equal(fieldLines(report.rawHeaders, 'host'), [backend.address], `request ${i}: Host at ${backend.name}`)
        seen.add(backend.name)
      }
      assert.is(seen.size, 2, 'both peers were asked, each with its own Host')
    }))

  test('should not pass hop-by-hop request fields, nor the fields Connection names, to the peer', () =>
    withScope(async (scope) => {
      const { proxy, backend } = await onePeer(scope, ctx)
      const hop = ['Keep-Alive: timeout=17, max=99', 'TE: trailers', 'Proxy-Authorization: Basic Zm9vOmJhcg==', 'Proxy-Connection: keep-alive']
      const variants: { label: string; lines: string[] }[] = [
        // One Connection line naming a field beside this hop's own connection option.
        { label: 'one Connection line', lines: ['Connection: X-Private, close', 'X-Private: 1', 'X-Kept: 1', ...hop] },
        // Two Connection lines are one comma-separated list: the field named in either is hop-by-hop.
        { label: 'two Connection lines', lines: ['Connection: x-private', 'X-Private: 1', 'X-Kept: 1', ...hop, 'Connection: close'] },
      ]
      for (const { label, lines } of variants) {
        const bytes = ['GET /hop HTTP/1.1', `Host: ${CLIENT_HOST}`, ...lines, '', ''].join('\r\n')
        const report = reportOf(await sendRaw(proxy.url, bytes), backend, label)
        for (const name of ['x-private', 'keep-alive', 'te', 'proxy-authorization', 'proxy-connection']) {
          assert.equal(fieldLines(report.rawHeaders, name), [], `${label}: ${name} stays on the client's hop`)
        }
        for (const value of fieldLines(report.rawHeaders, 'connection')) {
          assert.not.match(value, /x-private/i, `${label}: the client's Connection options stay on its hop`)
        }
        assert.equal(fieldLines(report.rawHeaders, 'x-kept'), ['1'], `${label}: an end-to-end field passes`)
      }
    }))

  test('should not pass hop-by-hop response fields, nor the fields Connection names, to the client', () =>
    withScope(async (scope) => {
      const { proxy, backend } = await onePeer(scope, ctx)
      // The client asks to close (no agent): the proxy's own answer then needs no Keep-Alive either.
      const answer = await send(proxy.url, { path: '/hop-response', jar: new CookieJar() })
      assert.is(answer.status, 200)
      assert.is(answer.backend, backend.name)
      assert.equal(fieldLines(answer.rawHeaders, 'x-up'), [], "X-Up, named by the peer's Connection, stays on the peer's hop")
      assert.equal(fieldLines(answer.rawHeaders, 'proxy-authenticate'), [], "Proxy-Authenticate stays on the peer's hop")
      for (const value of fieldLines(answer.rawHeaders, 'keep-alive')) {
        assert.not.match(value, /timeout=17|max=99/, "the peer's Keep-Alive stays on the peer's hop")
      }
      for (const value of fieldLines(answer.rawHeaders, 'connection')) {
        assert.not.match(value, /x-up/i, "the peer's Connection options stay on its hop")
      }
      for (const [name, value] of HOP_RESPONSE.filter(([n]) => n === 'X-End' || n === 'Cache-Control')) {
        assert.equal(fieldLines(answer.rawHeaders, name.toLowerCase()), [value], `the end-to-end ${name} reaches the client`)
      }
    }))

  test("should keep Content-Length and Host when the client's Connection names them", () =>
    withScope(async (scope) => {
      const { proxy, backend } = await onePeer(scope, ctx)
      const body = 'hello, peer'
      const bytes = [
        'POST /named HTTP/1.1',
        `Host: ${CLIENT_HOST}`,
        'Connection: Content-Length, Host, close',
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n')
      const report = reportOf(await sendRaw(proxy.url, bytes), backend, 'Connection: Content-Length, Host')
      assert.is(report.method, 'POST')
      assert.is(report.length, Buffer.byteLength(body), 'the body reached the peer framed, whole')
      // Which Host is the subject of another case; here it only must not be dropped.
      assert.is(fieldLines(report.rawHeaders, 'host').length, 1, 'the peer still gets a Host')
    }))
}
