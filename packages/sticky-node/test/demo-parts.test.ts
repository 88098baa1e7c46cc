import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { fastCheckSeed } from 'sticky-conformance'
import { applySetCookie, cookieHeader, type CookieJar } from '../src/demo-cookies'
import { renderTable } from '../src/demo-table'

const seed = fastCheckSeed('demo-parts.test')
const now = Date.parse('2025-01-31T12:00:00Z')
const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/)
const value = fc.stringMatching(/^[A-Za-z0-9_.-]{0,32}$/)

const RenderTable = suite('renderTable')

RenderTable('should align columns two spaces past the widest cell', () => {
  assert.equal(
    renderTable(
      ['', 'request 1'],
      [
        ['browser 1', 'A  new cookie'],
        ['browser 10', 'B'],
      ],
    ),
    ['              request 1', '  browser 1   A  new cookie', '  browser 10  B'],
  )
})

RenderTable('should leave the missing cells of a short row empty', () => {
  assert.equal(renderTable(['a', 'b', 'c'], [['1']], ''), ['a  b  c', '1'])
})

RenderTable('should start every cell at the same offset on every line, with no trailing spaces', () => {
  const cellText = fc.stringMatching(/^[a-z0-9]([a-z0-9 ]{0,8}[a-z0-9])?$/)
  const shape = fc
    .integer({ min: 1, max: 5 })
    .chain((columns) =>
      fc.tuple(
        fc.array(cellText, { minLength: columns, maxLength: columns }),
        fc.array(fc.array(cellText, { minLength: columns, maxLength: columns }), { maxLength: 6 }),
      ),
    )
  fc.assert(
    fc.property(shape, ([header, rows]) => {
      const lines = renderTable(header, rows)
      if (lines.length !== rows.length + 1) return false
      const offsets = header.map(
        (_, column) => 2 + header.slice(0, column).reduce((sum, _cell, i) => sum + Math.max(...[header, ...rows].map((r) => r[i]?.length ?? 0)) + 2, 0),
      )
      return [header, ...rows].every((row, r) => {
        const line = lines[r] ?? ''
        return line === line.trimEnd() && row.every((text, column) => line.startsWith(text, offsets[column]))
      })
    }),
    { seed },
  )
})

RenderTable.run()

const ApplySetCookie = suite('applySetCookie')

const applied: ReadonlyArray<readonly [string, CookieJar, string, ReadonlyArray<readonly [string, string]>]> = [
  ['store a new cookie', new Map(), 'route=abc; Path=/; HttpOnly', [['route', 'abc']]],
  ['replace a cookie of the same name', new Map([['route', 'old']]), 'route=new', [['route', 'new']]],
  [
    'keep other cookies',
    new Map([['sid', '1']]),
    'route=a',
    [
      ['sid', '1'],
      ['route', 'a'],
    ],
  ],
  ['delete on Max-Age=0', new Map([['route', 'a']]), 'route=; Max-Age=0', []],
  ['delete on an Expires in the past', new Map([['route', 'a']]), 'route=a; Expires=Thu, 01 Jan 1970 00:00:00 GMT', []],
  ['let Max-Age win over a past Expires', new Map(), 'route=a; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT', [['route', 'a']]],
  ['ignore a header without a name', new Map([['route', 'a']]), '=x', [['route', 'a']]],
  ['ignore a header without "="', new Map([['route', 'a']]), 'garbage', [['route', 'a']]],
]
for (const [name, jar, header, expected] of applied) {
  ApplySetCookie(`should ${name}`, () => {
    assert.equal([...applySetCookie(jar, header, now)], expected)
  })
}

ApplySetCookie('should never throw nor change the jar it was given', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(token, value)), fc.string(), (entries, header) => {
      const jar: CookieJar = new Map(entries)
      const before = [...jar]
      applySetCookie(jar, header, now)
      return JSON.stringify([...jar]) === JSON.stringify(before)
    }),
    { seed },
  )
})

ApplySetCookie('should store any name=value with any attributes that do not expire it', () => {
  const attributes = fc.array(fc.constantFrom('Path=/', 'HttpOnly', 'Secure', 'SameSite=Lax', 'Max-Age=3600', 'Domain=example.com'))
  fc.assert(
    fc.property(token, value, attributes, (name, text, attrs) => {
      const jar = applySetCookie(new Map(), [`${name}=${text}`, ...attrs].join('; '), now)
      return jar.get(name) === text && jar.size === 1
    }),
    { seed },
  )
})

ApplySetCookie.run()

const CookieHeader = suite('cookieHeader')

CookieHeader('should be undefined for an empty jar', () => {
  assert.is(cookieHeader(new Map()), undefined)
})

CookieHeader('should join the pairs with "; "', () => {
  assert.is(
    cookieHeader(
      new Map([
        ['a', '1'],
        ['route', 'x'],
      ]),
    ),
    'a=1; route=x',
  )
})

CookieHeader('should list every cookie of the jar once, in order', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(token, value), { minLength: 1, selector: ([name]) => name }), (entries) => {
      const pairs = (cookieHeader(new Map(entries)) ?? '').split('; ')
      return JSON.stringify(pairs) === JSON.stringify(entries.map(([name, text]) => `${name}=${text}`))
    }),
    { seed },
  )
})

CookieHeader.run()
