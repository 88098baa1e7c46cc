import fc from 'fast-check'
import { fastCheckSeed } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { hasBody, requestDefect, upstreamFraming } from '../src/framing'

/** Raw header lists mixing Host and Transfer-Encoding lines (in any case) with other fields. */
const rawList = fc
  .array(
    fc.tuple(
      fc.constantFrom('Host', 'host', 'HOST', 'Transfer-Encoding', 'transfer-encoding', 'Content-Length', 'X-A', 'Cookie'),
      fc.constantFrom('chunked', 'Chunked', ' chunked ', 'gzip, chunked', 'chunked, chunked', 'identity', 'x', '5', ''),
    ),
    { maxLength: 8 },
  )
  .map((pairs) => pairs.flat())

function count(raw: readonly string[], name: string): number {
  let n = 0
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) n += 1
  return n
}

// ----------------------------------------------------------------------------------------------
const defect = suite('requestDefect')

const defectCases: ReadonlyArray<{ raw: string[]; status: 400 | 501 | undefined }> = [
  { raw: [], status: undefined },
  { raw: ['Host', 'a'], status: undefined },
  { raw: ['Host', 'a', 'host', 'a'], status: 400 },
  { raw: ['Host', 'good', 'X-A', '1', 'HOST', 'evil'], status: 400 },
  { raw: ['Transfer-Encoding', 'chunked'], status: undefined },
  { raw: ['Transfer-Encoding', ' CHUNKED '], status: undefined },
  { raw: ['Transfer-Encoding', 'gzip, chunked'], status: 501 },
  { raw: ['Transfer-Encoding', 'chunked, chunked'], status: 501 },
  { raw: ['Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'], status: 400 },
]
for (const { raw, status } of defectCases) {
  defect(`should answer ${status ?? 'nothing'} for ${JSON.stringify(raw)}`, () => {
    assert.is(requestDefect(raw)?.status, status)
  })
}

defect('should refuse exactly the duplicates and the codings other than chunked (property)', () => {
  fc.assert(
    fc.property(rawList, (raw) => {
      const found = requestDefect(raw)
      const hosts = count(raw, 'host')
      const codings = count(raw, 'transfer-encoding')
      if (hosts > 1 || codings > 1) return assert.is(found?.status, 400)
      const coding = raw[raw.findIndex((v, i) => i % 2 === 0 && v.toLowerCase() === 'transfer-encoding') + 1]
      const chunkedOnly = codings === 0 || coding?.trim().toLowerCase() === 'chunked'
      assert.is(found?.status, chunkedOnly ? undefined : 501)
    }),
    { seed: fastCheckSeed('requestDefect') },
  )
})
defect.run()

// ----------------------------------------------------------------------------------------------
const framing = suite('upstreamFraming')

const framingCases: ReadonlyArray<{ headers: Record<string, string>; expected: string[] }> = [
  { headers: {}, expected: [] },
  { headers: { 'content-length': '0' }, expected: ['Content-Length', '0'] },
  { headers: { 'content-length': '39' }, expected: ['Content-Length', '39'] },
  { headers: { 'transfer-encoding': 'chunked' }, expected: ['Transfer-Encoding', 'chunked'] },
]
for (const { headers, expected } of framingCases) {
  framing(`should frame ${JSON.stringify(headers)} as ${JSON.stringify(expected)}`, () => {
    assert.equal(upstreamFraming(headers), expected)
  })
}

framing('should state a framing for every request with a body, and agree with hasBody (property)', () => {
  fc.assert(
    fc.property(
      fc.record({ 'content-length': fc.stringMatching(/^[0-9]{1,6}$/), 'transfer-encoding': fc.constant('chunked') }, { requiredKeys: [] }),
      (headers) => {
        const stated = upstreamFraming(headers)
        assert.ok(stated.length === 0 || stated.length === 2)
        if (hasBody(headers)) assert.is(stated.length, 2)
        if (stated.length === 0) assert.not.ok(hasBody(headers))
        // Chunked wins, as RFC 9112 section 6.3 says it must.
        if (headers['transfer-encoding'] !== undefined) assert.equal(stated, ['Transfer-Encoding', 'chunked'])
      },
    ),
    { seed: fastCheckSeed('upstreamFraming') },
  )
})
framing.run()

// ----------------------------------------------------------------------------------------------
const body = suite('hasBody')

for (const [headers, expected] of [
  [{}, false],
  [{ 'content-length': '0' }, false],
  [{ 'content-length': '1' }, true],
  [{ 'transfer-encoding': 'chunked' }, true],
] as const) {
  body(`should say ${expected} for ${JSON.stringify(headers)}`, () => {
    assert.is(hasBody(headers), expected)
  })
}
body.run()
