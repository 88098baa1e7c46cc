import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connectionListed, connectionTokens, hopByHopNames, isHopByHopHeader } from '../src/hop-by-hop'
import type { ConnectionHeader } from '../src/hop-by-hop'
import { fcParams } from './_fc'

/** RFC 9110 section 7.6.1's connection-specific fields, plus the proxy credentials of sections 11.7.1-11.7.2. */
const FIXED = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade']

/** Field names, mixing the fixed hop-by-hop ones (in any case) with end-to-end ones. */
const fieldName = fc.oneof(
  fc.constantFrom(...FIXED, 'Connection', 'KEEP-ALIVE', 'Te', 'Proxy-Authorization'),
  fc.constantFrom('host', 'cookie', 'set-cookie', 'trailer', 'expect', 'x-private', 'content-length'),
  fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/),
)
/** `Connection` values: comma lists with optional whitespace and empty elements, and arbitrary text. */
const connectionLine = fc.oneof(
  fc
    .array(fc.tuple(fc.constantFrom('', ' ', '\t', '  '), fieldName, fc.constantFrom('', ' ', '\t')), { maxLength: 5 })
    .map((items) => items.map(([before, name, after]) => before + name + after).join(',')),
  fc.string({ maxLength: 30 }),
)
const connectionHeader: fc.Arbitrary<ConnectionHeader> = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  connectionLine,
  fc.array(connectionLine, { maxLength: 4 }),
)

/** End-to-end fields a `Connection` header may name but must never remove: they frame and route the message. */
const PINNED = ['content-length', 'host']

function lines(value: ConnectionHeader): readonly string[] {
  if (value === null || value === undefined) return []
  return typeof value === 'string' ? [value] : value
}

// ----------------------------------------------------------------------------------------------
const IsHop = suite('isHopByHopHeader')

const hopCases: ReadonlyArray<readonly [string, boolean]> = [
  ...FIXED.map((name) => [name, true] as const),
  ['Connection', true],
  ['TRANSFER-ENCODING', true],
  ['Proxy-Authorization', true],
  ['Keep-Alive', true],
  ['trailer', false],
  ['Trailer', false],
  ['host', false],
  ['cookie', false],
  ['set-cookie', false],
  ['content-length', false],
  ['x-forwarded-for', false],
  ['expect', false],
  ['', false],
  [' te', false],
  ['keep-alive ', false],
]
for (const [name, expected] of hopCases) {
  IsHop(`should say ${expected} for ${JSON.stringify(name)}`, () => {
    assert.is(isHopByHopHeader(name), expected)
  })
}

IsHop('should ignore case (property)', () => {
  fc.assert(
    fc.property(fieldName, (name) => {
      assert.is(isHopByHopHeader(name), FIXED.includes(name.toLowerCase()), name)
      assert.is(isHopByHopHeader(name.toUpperCase()), isHopByHopHeader(name.toLowerCase()), name)
    }),
    fcParams(),
  )
})
IsHop.run()

// ----------------------------------------------------------------------------------------------
const Tokens = suite('connectionTokens')

const tokenCases: ReadonlyArray<{ value: ConnectionHeader; expected: string[] }> = [
  { value: null, expected: [] },
  { value: undefined, expected: [] },
  { value: '', expected: [] },
  { value: [], expected: [] },
  { value: 'close', expected: ['close'] },
  { value: ' Keep-Alive , X-Foo,,', expected: ['keep-alive', 'x-foo'] },
  { value: '\tX-A\t,x-a', expected: ['x-a'] },
  { value: ['a', 'B, c', ''], expected: ['a', 'b', 'c'] },
  { value: ', ,', expected: [] },
  // Request smuggling: obeying these would forward the body unframed, or the request without its host.
  { value: 'content-length', expected: [] },
  { value: 'Content-Length, Host, X-A', expected: ['x-a'] },
  { value: ['close', ' HOST ', 'content-length\t'], expected: ['close'] },
]
for (const { value, expected } of tokenCases) {
  Tokens(`should read ${JSON.stringify(value) ?? 'undefined'} as [${expected.join(', ')}]`, () => {
    assert.equal([...connectionTokens(value)].sort(), expected)
  })
}

Tokens('should yield exactly the non-empty, trimmed, lower-cased list elements of every line but Content-Length and Host (property)', () => {
  fc.assert(
    fc.property(connectionHeader, (value) => {
      const expected = new Set<string>()
      for (const line of lines(value)) {
        for (const element of line.split(',')) {
          const name = element.trim().toLowerCase()
          if (name !== '' && !PINNED.includes(name)) expected.add(name)
        }
      }
      assert.equal([...connectionTokens(value)].sort(), [...expected].sort())
    }),
    fcParams(),
  )
})

Tokens('should read several lines as one comma-joined line (property)', () => {
  fc.assert(
    fc.property(fc.array(connectionLine, { maxLength: 4 }), (many) => {
      assert.equal([...connectionTokens(many)].sort(), [...connectionTokens(many.join(','))].sort())
    }),
    fcParams(),
  )
})
Tokens.run()

// ----------------------------------------------------------------------------------------------
const Names = suite('hopByHopNames')

Names('should be the fixed set when there is no Connection header', () => {
  for (const none of [null, undefined, '', []] as const) assert.equal([...hopByHopNames(none)].sort(), [...FIXED].sort())
})

Names('should add the names Connection lists', () => {
  assert.equal([...hopByHopNames('keep-alive, X-Private')].sort(), [...FIXED, 'x-private'].sort())
  assert.equal([...hopByHopNames(['X-A', 'x-b'])].sort(), [...FIXED, 'x-a', 'x-b'].sort())
})

Names('should never contain Content-Length or Host, whatever Connection names', () => {
  for (const value of ['content-length', 'Host', 'host, content-length, x-a', ['Content-Length', 'HOST']]) {
    const names = hopByHopNames(value)
    for (const pinned of PINNED) assert.not.ok(names.has(pinned), `${pinned} in ${JSON.stringify(value)}`)
  }
})

Names('should return a fresh set each time, so that a caller may extend it', () => {
  const first = hopByHopNames(null)
  first.add('host')
  first.delete('connection')
  assert.ok(!hopByHopNames(null).has('host'))
  assert.ok(hopByHopNames(null).has('connection'))
  assert.ok(isHopByHopHeader('connection'))
})

Names('should be exactly the fixed set plus the Connection tokens (property)', () => {
  fc.assert(
    fc.property(connectionHeader, fieldName, (value, name) => {
      const names = hopByHopNames(value)
      const lower = name.toLowerCase()
      assert.is(names.has(lower), isHopByHopHeader(name) || connectionTokens(value).has(lower), name)
      for (const listed of names) assert.ok(isHopByHopHeader(listed) || connectionTokens(value).has(listed), listed)
      for (const pinned of PINNED) assert.not.ok(names.has(pinned), pinned)
    }),
    fcParams(),
  )
})
Names.run()

// ----------------------------------------------------------------------------------------------
const Listed = suite('connectionListed')

Listed('should add nothing for no Connection header or keep-alive alone, in any case and spacing', () => {
  for (const value of [null, undefined, '', [], 'keep-alive', ' Keep-Alive\t', ['KEEP-ALIVE'], 'keep-alive, te, upgrade', ['keep-alive', 'TE']])
    assert.equal([...connectionListed(value)], [], JSON.stringify(value))
})

Listed('should add the names beyond the fixed set, never Content-Length or Host', () => {
  assert.equal([...connectionListed('keep-alive, X-Private')], ['x-private'])
  assert.equal([...connectionListed(['Keep-Alive', 'x-a'])], ['x-a'])
  assert.equal([...connectionListed('close')], ['close'])
  assert.equal([...connectionListed('content-length, host, x-b')], ['x-b'])
})

Listed('should drop what hopByHopNames drops, with the fixed set (property)', () => {
  fc.assert(
    fc.property(connectionHeader, fieldName, (value, name) => {
      const lower = name.toLowerCase()
      assert.is(isHopByHopHeader(name) || connectionListed(value).has(lower), hopByHopNames(value).has(lower), name)
      for (const listed of connectionListed(value)) assert.not.ok(isHopByHopHeader(listed), listed)
    }),
    fcParams(),
  )
})
Listed.run()
