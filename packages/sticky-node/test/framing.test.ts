import fc from 'fast-check'
import { fastCheckSeed } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { requestRefusal } from 'sticky-core'
import { hasBody, requestDefect, upstreamFraming } from '../src/framing'

/** Raw header lists mixing Host, Transfer-Encoding and Content-Length lines (in any case) with other fields. */
const rawList = fc
  .array(
    fc.tuple(
      fc.constantFrom('Host', 'host', 'HOST', 'Transfer-Encoding', 'transfer-encoding', 'Content-Length', 'X-A', 'Cookie'),
      fc.constantFrom('chunked', 'Chunked', ' chunked ', 'gzip, chunked', 'chunked, chunked', 'identity', 'x', '5', '0', ''),
    ),
    { maxLength: 8 },
  )
  .map((pairs) => pairs.flat())

function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] ?? '', raw[i + 1] ?? ''])
  return out
}

// ----------------------------------------------------------------------------------------------
// The rules are sticky-core's requestRefusal (tested there); here, that node:http's flat list reaches them whole.
const defect = suite('requestDefect')

const defectCases: ReadonlyArray<{ raw: string[]; upgrade?: boolean; status: 400 | 501 | undefined }> = [
  { raw: [], status: undefined },
  { raw: ['Host', 'a'], status: undefined },
  { raw: ['Host', 'a', 'host', 'a'], status: 400 },
  { raw: ['Host', 'good', 'X-A', '1', 'HOST', 'evil'], status: 400 },
  { raw: ['Transfer-Encoding', 'chunked'], status: undefined },
  { raw: ['Transfer-Encoding', 'gzip, chunked'], status: 501 },
  { raw: ['Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'], status: 400 },
  { raw: ['Content-Length', '3', 'Content-Length', '4'], status: 400 },
  { raw: ['Host', 'a', 'Content-Length', '3'], upgrade: true, status: 400 },
  { raw: ['Host', 'a', 'Content-Length', '0'], upgrade: true, status: undefined },
  // A list cut short (an odd length) loses only its last name.
  { raw: ['Host', 'a', 'Host'], status: undefined },
]
for (const { raw, upgrade, status } of defectCases) {
  defect(`should answer ${status ?? 'nothing'} for ${JSON.stringify(raw)}${upgrade ? ' (upgrade)' : ''}`, () => {
    assert.is(requestDefect(raw, { upgrade })?.status, status)
  })
}

defect("should be sticky-core's requestRefusal over the list's pairs (property)", () => {
  fc.assert(
    fc.property(rawList, fc.boolean(), (raw, upgrade) => {
      assert.equal(requestDefect(raw, { upgrade }), requestRefusal(pairs(raw), { upgrade }))
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
