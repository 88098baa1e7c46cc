import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { contentLength } from '../src/relay'
import { rawRequestRefusal, requestRefusal } from '../src/request-refusal'
import { fcParams } from './_fc'

type Fields = ReadonlyArray<readonly [string, string]>

const Refusal = suite('requestRefusal')

const cases: ReadonlyArray<{ fields: Fields; upgrade?: boolean; status: 400 | 501 | undefined }> = [
  { fields: [], status: undefined },
  { fields: [['Host', 'a']], status: undefined },
  {
    fields: [
      ['Host', 'a'],
      ['host', 'a'],
    ],
    status: 400,
  },
  {
    fields: [
      ['Host', 'good'],
      ['X-A', '1'],
      ['HOST', 'evil'],
    ],
    status: 400,
  },
  // A fetch Headers object joins the two lines: one Host, which the peer list decides about, not this rule.
  { fields: [['host', 'good, evil']], status: undefined },
  {
    fields: [
      [':authority', 'a'],
      ['host', 'a'],
    ],
    status: undefined,
  },
  {
    fields: [
      [':authority', 'Good.Example:8443'],
      ['host', 'good.example:8443'],
    ],
    status: undefined,
  },
  // HTTP/2 request whose Host names another site than its :authority (RFC 9113 section 8.3.1).
  {
    fields: [
      [':authority', 'good.example'],
      ['host', 'evil.example'],
    ],
    status: 400,
  },
  { fields: [[':authority', 'good.example']], status: undefined },
  { fields: [['Transfer-Encoding', 'chunked']], status: undefined },
  { fields: [['Transfer-Encoding', ' CHUNKED ']], status: undefined },
  { fields: [['Transfer-Encoding', 'gzip, chunked']], status: 501 },
  { fields: [['Transfer-Encoding', 'chunked, chunked']], status: 501 },
  { fields: [['Transfer-Encoding', '']], status: 501 },
  {
    fields: [
      ['Transfer-Encoding', 'chunked'],
      ['Transfer-Encoding', 'chunked'],
    ],
    status: 400,
  },
  { fields: [['Content-Length', '3']], status: undefined },
  { fields: [['Content-Length', '3, 3']], status: undefined },
  {
    fields: [
      ['Content-Length', '3'],
      ['content-length', '3'],
    ],
    status: undefined,
  },
  {
    fields: [
      ['Content-Length', '3'],
      ['content-length', '4'],
    ],
    status: 400,
  },
  { fields: [['Content-Length', '3, 4']], status: 400 },
  { fields: [['Content-Length', '-3']], status: 400 },
  { fields: [['Content-Length', '+3']], status: 400 },
  { fields: [['Content-Length', '']], status: 400 },
  { fields: [['Content-Length', 'abc']], status: 400 },
  { fields: [['Content-Length', '0x10']], status: 400 },
  { fields: [['Content-Length', '1234567890123456']], status: 400 },
  {
    fields: [
      ['Content-Length', 'abc'],
      ['Transfer-Encoding', 'gzip'],
    ],
    status: 400,
  },
  { fields: [['Content-Length', '0']], upgrade: true, status: undefined },
  { fields: [['Content-Length', '00']], upgrade: true, status: undefined },
  { fields: [['Content-Length', '1']], upgrade: true, status: 400 },
  { fields: [['Transfer-Encoding', 'chunked']], upgrade: true, status: 400 },
  { fields: [['Transfer-Encoding', 'gzip']], upgrade: true, status: 501 },
  { fields: [['Content-Length', '1']], upgrade: false, status: undefined },
]
for (const { fields, upgrade, status } of cases) {
  Refusal(`should answer ${status ?? 'nothing'} for ${JSON.stringify(fields)}${upgrade ? ' (upgrade)' : ''}`, () => {
    assert.is(requestRefusal(fields, { upgrade })?.status, status)
  })
}

Refusal('should read a fetch Headers object as its joined fields', () => {
  assert.is(
    requestRefusal(
      new Headers([
        ['content-length', '3'],
        ['content-length', '4'],
      ]),
    )?.status,
    400,
  )
  assert.is(
    requestRefusal(
      new Headers([
        ['content-length', '3'],
        ['content-length', '3'],
      ]),
    ),
    undefined,
  )
  assert.is(
    requestRefusal(
      new Headers([
        ['host', 'a'],
        ['host', 'b'],
      ]),
    ),
    undefined,
    'two Hosts look like one',
  )
})

Refusal('should answer with shared frozen refusals', () => {
  const a = requestRefusal([
    ['Host', 'a'],
    ['Host', 'b'],
  ])
  assert.ok(Object.isFrozen(a))
  assert.is(
    a,
    requestRefusal([
      ['host', 'c'],
      ['host', 'd'],
    ]),
  )
})

/** Hostile field lists: the three framing names in any case and spelling, with hostile values, among others. */
const nameArb = fc.oneof(
  fc.constantFrom('Host', 'host', 'HOST', 'Transfer-Encoding', 'transfer-encoding', 'TRANSFER-ENCODING', 'Content-Length', 'content-length'),
  fc.constantFrom('X-A', 'Cookie', ':authority', 'Hos', 'Host ', 'Content-Lengths', 'Transfer_Encoding', '__proto__'),
  fc.string({ maxLength: 20 }),
)
const valueArb = fc.oneof(
  fc.constantFrom('chunked', 'Chunked', ' chunked ', 'gzip, chunked', 'chunked, chunked', 'identity', '', '0', '5', '05', '5, 5', '5, 6', '-1', '+1', ' 7 '),
  fc.stringMatching(/^[0-9]{1,17}$/),
  fc.string({ unit: 'binary', maxLength: 30 }),
)
const fieldsArb = fc.array(fc.tuple(nameArb, valueArb), { maxLength: 12 })

const RULED: ReadonlySet<string> = new Set(['host', 'transfer-encoding', 'content-length'])

function named(fields: Fields, name: string): string[] {
  return fields.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v)
}

Refusal('property: refuses exactly by the rules, in their order', () => {
  fc.assert(
    fc.property(fieldsArb, fc.boolean(), (fields, upgrade) => {
      const found = requestRefusal(fields, { upgrade })
      const hosts = named(fields, 'host')
      const codings = named(fields, 'transfer-encoding')
      const lengths = named(fields, 'content-length')
      const length = lengths.length === 0 ? undefined : contentLength(lengths)
      const authority = fields.filter(([n]) => n === ':authority').at(-1)?.[1]
      const otherSite = hosts.length === 1 && authority !== undefined && hosts[0]?.trim().toLowerCase() !== authority.trim().toLowerCase()
      let expected: 400 | 501 | undefined
      if (hosts.length > 1 || otherSite || codings.length > 1 || length === 'invalid') expected = 400
      else if (codings.length === 1 && codings[0]?.trim().toLowerCase() !== 'chunked') expected = 501
      else if (upgrade && (codings.length === 1 || (typeof length === 'number' && length > 0))) expected = 400
      assert.is(found?.status, expected)
      if (found !== undefined) assert.ok(found.reason.length > 0)
    }),
    fcParams(),
  )
})

Refusal('property: what is proxied has at most one Host, one chunked coding or one known length', () => {
  fc.assert(
    fc.property(fieldsArb, (fields) => {
      if (requestRefusal(fields) !== undefined) return
      const hosts = named(fields, 'host')
      assert.ok(hosts.length <= 1)
      const authority = fields.filter(([n]) => n === ':authority').at(-1)?.[1]
      if (hosts[0] !== undefined && authority !== undefined) assert.is(hosts[0].trim().toLowerCase(), authority.trim().toLowerCase())
      const codings = named(fields, 'transfer-encoding')
      assert.ok(codings.length === 0 || (codings.length === 1 && codings[0]?.trim().toLowerCase() === 'chunked'))
      const lengths = named(fields, 'content-length')
      if (lengths.length > 0) assert.type(contentLength(lengths), 'number')
    }),
    fcParams(),
  )
})

Refusal('property: the order of the other fields and the case of the names do not matter', () => {
  fc.assert(
    fc.property(fieldsArb, fc.boolean(), (fields, upgrade) => {
      // Only the rules' own names change case: upper-casing any string could make one of them ('hoſt').
      const shuffled = [...fields].reverse().map(([n, v]) => [RULED.has(n.toLowerCase()) ? n.toUpperCase() : n, v] as const)
      const a = requestRefusal(fields, { upgrade })
      const b = requestRefusal(shuffled, { upgrade })
      // Reversal changes which of two differing Content-Length values comes first, not the verdict.
      assert.is(a?.status, b?.status)
    }),
    fcParams(),
  )
})

Refusal('property: rawRequestRefusal of a flat rawHeaders list answers exactly what requestRefusal of its pairs does', () => {
  fc.assert(
    fc.property(fieldsArb, fc.boolean(), fc.option(fc.string({ maxLength: 8 }), { nil: undefined }), (fields, upgrade, odd) => {
      const flat: string[] = fields.flat()
      // node:http never hands over an odd list; a stray last name is ignored, as no value follows it.
      if (odd !== undefined) flat.push(odd)
      assert.is(rawRequestRefusal(flat, { upgrade }), requestRefusal(fields, { upgrade }))
    }),
    fcParams(),
  )
})

Refusal('rawRequestRefusal: the examples, in node:http form', () => {
  assert.is(rawRequestRefusal(['Host', 'a', 'User-Agent', 'x']), undefined)
  assert.is(rawRequestRefusal(['Host', 'a', 'host', 'b'])?.reason, 'more than one Host header')
  assert.is(rawRequestRefusal([':authority', 'a', 'host', 'b'])?.status, 400)
  assert.is(rawRequestRefusal(['Transfer-Encoding', 'gzip, chunked'])?.status, 501)
  assert.is(rawRequestRefusal(['Content-Length', '3'], { upgrade: true })?.status, 400)
  assert.is(rawRequestRefusal([]), undefined)
})

Refusal.run()
