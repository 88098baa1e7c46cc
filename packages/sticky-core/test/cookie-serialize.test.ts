import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { joinCookieParts, serializeCookie, serializeCookieParts, type CookieAttributes } from '../src/cookie'
import { StickyConfigError } from '../src/errors'
import { fcParams } from './_fc'
import { arbitraryDomain, arbitraryExpiresMs, arbitraryHostile, arbitraryHostileChar, arbitraryName, arbitraryPath, arbitraryValue, thrown } from './_cookie'

const RFC_DATE = new Date(Date.UTC(1994, 10, 6, 8, 49, 37))

function assertConfigError(fn: () => unknown, option: string): void {
  const error = thrown(fn)
  assert.instance(error, StickyConfigError, `expected a StickyConfigError naming ${option}`)
  assert.is((error as StickyConfigError).option, option)
}

/** The attribute segments `serializeCookie` must produce, in order, derived from the input alone. */
function expectedSegments(name: string, value: string, a: CookieAttributes): string[] {
  const segments = [`${name}=${value}`]
  if (a.domain !== undefined) segments.push(`Domain=${a.domain}`)
  if (a.path !== undefined) segments.push(`Path=${a.path}`)
  if (a.expires !== undefined) segments.push(`Expires=${a.expires.toUTCString()}`)
  if (a.maxAge !== undefined) segments.push(`Max-Age=${a.maxAge}`)
  if (a.secure === true) segments.push('Secure')
  if (a.httpOnly === true) segments.push('HttpOnly')
  if (a.sameSite !== undefined) segments.push(`SameSite=${a.sameSite}`)
  if (a.partitioned === true) segments.push('Partitioned')
  return segments
}

const arbitraryAttributes: fc.Arbitrary<CookieAttributes> = fc.record(
  {
    domain: arbitraryDomain,
    path: arbitraryPath,
    expires: arbitraryExpiresMs.map((ms) => new Date(ms)),
    maxAge: fc.nat(),
    secure: fc.boolean(),
    httpOnly: fc.boolean(),
    sameSite: fc.constantFrom('Strict' as const, 'Lax' as const, 'None' as const),
    partitioned: fc.boolean(),
  },
  { requiredKeys: [] },
)

const serialize = suite('serializeCookie')

const valid: ReadonlyArray<readonly [string, string, CookieAttributes | undefined, string]> = [
  ['route', 'abc', undefined, 'route=abc'],
  ['route', '', {}, 'route='],
  [
    'route',
    'a1',
    { domain: '.example.com', path: '/', expires: RFC_DATE, maxAge: 3600, secure: true, httpOnly: true, sameSite: 'None', partitioned: true },
    'route=a1; Domain=.example.com; Path=/; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=3600; Secure; HttpOnly; SameSite=None; Partitioned',
  ],
  ['route', 'v', { sameSite: 'Lax' }, 'route=v; SameSite=Lax'],
  ['route', 'v', { sameSite: 'Strict', httpOnly: true }, 'route=v; HttpOnly; SameSite=Strict'],
  ['route', 'v', { secure: false, httpOnly: false, partitioned: false }, 'route=v'],
  ['route', 'v', { domain: '127.0.0.1' }, 'route=v; Domain=127.0.0.1'],
  ['route', 'v', { domain: 'xn--bcher-kva.example' }, 'route=v; Domain=xn--bcher-kva.example'],
  ['route', 'v', { path: '/app/a b' }, 'route=v; Path=/app/a b'],
  ['route', 'v', { maxAge: 0 }, 'route=v; Max-Age=0'],
  ['route', 'v', { maxAge: -0 }, 'route=v; Max-Age=0'],
  ['route', 'v', { maxAge: Number.MAX_SAFE_INTEGER }, 'route=v; Max-Age=9007199254740991'],
  ['route', 'v', { expires: new Date(0) }, 'route=v; Expires=Thu, 01 Jan 1970 00:00:00 GMT'],
  ['route', 'v', { expires: new Date(-1) }, 'route=v; Expires=Wed, 31 Dec 1969 23:59:59 GMT'],
  ['route', 'v', { expires: new Date(Date.UTC(1601, 0, 1)) }, 'route=v; Expires=Mon, 01 Jan 1601 00:00:00 GMT'],
  ['route', 'v', { expires: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)) }, 'route=v; Expires=Fri, 31 Dec 9999 23:59:59 GMT'],
  ['route', 'v', { expires: new Date(Date.UTC(2024, 1, 29, 12, 0, 0, 999)) }, 'route=v; Expires=Thu, 29 Feb 2024 12:00:00 GMT'],
  ['route', 'v', { expires: new Date(Date.UTC(2000, 1, 29)) }, 'route=v; Expires=Tue, 29 Feb 2000 00:00:00 GMT'],
  ['__Secure-route', 'v', { secure: true }, '__Secure-route=v; Secure'],
  ['__secure-route', 'v', { secure: true, domain: 'example.com', path: '/x' }, '__secure-route=v; Domain=example.com; Path=/x; Secure'],
  ['__Host-route', 'v', { secure: true, path: '/' }, '__Host-route=v; Path=/; Secure'],
  ['__HOST-route', 'v', { secure: true, path: '/', sameSite: 'None', partitioned: true }, '__HOST-route=v; Path=/; Secure; SameSite=None; Partitioned'],
  ['__Hostroute', 'v', {}, '__Hostroute=v'],
  ['_Secure-route', 'v', {}, '_Secure-route=v'],
  ["!#$%&'*+-.^_`|~", "!#$%&'()*+-./:<=>?@[]^_`{|}~", {}, "!#$%&'*+-.^_`|~=!#$%&'()*+-./:<=>?@[]^_`{|}~"],
]

for (const [name, value, attributes, expected] of valid) {
  serialize(`should render ${JSON.stringify(expected)}`, () => {
    assert.is(serializeCookie(name, value, attributes), expected)
  })
}

const invalid: ReadonlyArray<readonly [label: string, name: unknown, value: unknown, attributes: unknown, option: string]> = [
  ['an empty name', '', 'v', undefined, 'name'],
  ['a name with a space', 'a b', 'v', undefined, 'name'],
  ['a name with =', 'a=b', 'v', undefined, 'name'],
  ['a name with ;', 'a;b', 'v', undefined, 'name'],
  ['a name with CR LF', 'a\r\nSet-Cookie: x', 'v', undefined, 'name'],
  ['a non-ASCII name', 'routé', 'v', undefined, 'name'],
  ['a non-string name', 1, 'v', undefined, 'name'],
  ['a value with ;', 'route', 'a;b', undefined, 'value'],
  ['a value with a space', 'route', 'a b', undefined, 'value'],
  ['a quoted value', 'route', '"a"', undefined, 'value'],
  ['a value with a comma', 'route', 'a,b', undefined, 'value'],
  ['a value with a backslash', 'route', 'a\\b', undefined, 'value'],
  ['a value with LF', 'route', 'a\nb', undefined, 'value'],
  ['a value with NUL', 'route', 'a\0', undefined, 'value'],
  ['a non-ASCII value', 'route', 'é', undefined, 'value'],
  ['a non-string value', 'route', undefined, undefined, 'value'],
  ['a name and value over 4096', 'route', 'v'.repeat(4092), undefined, 'value'],
  ['null attributes', 'route', 'v', null, 'attributes'],
  ['string attributes', 'route', 'v', 'Path=/', 'attributes'],
  ['an empty domain', 'route', 'v', { domain: '' }, 'domain'],
  ['a bare dot domain', 'route', 'v', { domain: '.' }, 'domain'],
  ['a domain with ;', 'route', 'v', { domain: 'example.com; Secure' }, 'domain'],
  ['a domain with CR LF', 'route', 'v', { domain: 'example.com\r\n' }, 'domain'],
  ['a trailing-dot domain', 'route', 'v', { domain: 'example.com.' }, 'domain'],
  ['a domain with an empty label', 'route', 'v', { domain: 'a..b' }, 'domain'],
  ['a domain with two leading dots', 'route', 'v', { domain: '..example.com' }, 'domain'],
  ['a label starting with -', 'route', 'v', { domain: '-a.example.com' }, 'domain'],
  ['a domain with _', 'route', 'v', { domain: 'a_b.example.com' }, 'domain'],
  ['a non-ASCII domain', 'route', 'v', { domain: 'bücher.example' }, 'domain'],
  ['a 64-character label', 'route', 'v', { domain: `${'a'.repeat(64)}.com` }, 'domain'],
  ['a 254-character domain', 'route', 'v', { domain: `${'a.'.repeat(126)}ab` }, 'domain'],
  ['a path without /', 'route', 'v', { path: 'app' }, 'path'],
  ['an empty path', 'route', 'v', { path: '' }, 'path'],
  ['a path with ;', 'route', 'v', { path: '/; Domain=evil' }, 'path'],
  ['a path with LF', 'route', 'v', { path: '/\n' }, 'path'],
  ['a path with NUL', 'route', 'v', { path: '/\0' }, 'path'],
  ['a path with DEL', 'route', 'v', { path: '/\x7f' }, 'path'],
  ['a non-ASCII path', 'route', 'v', { path: '/é' }, 'path'],
  ['a path over 1024', 'route', 'v', { path: `/${'a'.repeat(1024)}` }, 'path'],
  ['a negative Max-Age', 'route', 'v', { maxAge: -1 }, 'maxAge'],
  ['a fractional Max-Age', 'route', 'v', { maxAge: 1.5 }, 'maxAge'],
  ['a NaN Max-Age', 'route', 'v', { maxAge: Number.NaN }, 'maxAge'],
  ['an infinite Max-Age', 'route', 'v', { maxAge: Number.POSITIVE_INFINITY }, 'maxAge'],
  ['an unsafe-integer Max-Age', 'route', 'v', { maxAge: 2 ** 53 }, 'maxAge'],
  ['a string Max-Age', 'route', 'v', { maxAge: '3600' }, 'maxAge'],
  ['an invalid Date', 'route', 'v', { expires: new Date(Number.NaN) }, 'expires'],
  ['a date before 1601', 'route', 'v', { expires: new Date(Date.UTC(1600, 11, 31, 23, 59, 59)) }, 'expires'],
  ['a date after 9999', 'route', 'v', { expires: new Date(Date.UTC(10000, 0, 1)) }, 'expires'],
  ['a string expires', 'route', 'v', { expires: 'Sun, 06 Nov 1994 08:49:37 GMT' }, 'expires'],
  ['a number expires', 'route', 'v', { expires: 0 }, 'expires'],
  ['a date-like object', 'route', 'v', { expires: { getTime: () => 0 } }, 'expires'],
  ['a lower-case SameSite', 'route', 'v', { sameSite: 'lax' }, 'sameSite'],
  ['an unknown SameSite', 'route', 'v', { sameSite: 'Foo' }, 'sameSite'],
  ['an empty SameSite', 'route', 'v', { sameSite: '' }, 'sameSite'],
  ['SameSite=None without Secure', 'route', 'v', { sameSite: 'None' }, 'sameSite'],
  ['SameSite=None with secure false', 'route', 'v', { sameSite: 'None', secure: false }, 'sameSite'],
  ['Partitioned without Secure', 'route', 'v', { partitioned: true }, 'partitioned'],
  ['a string secure', 'route', 'v', { secure: 'true' }, 'secure'],
  ['a numeric httpOnly', 'route', 'v', { httpOnly: 1 }, 'httpOnly'],
  ['a null partitioned', 'route', 'v', { partitioned: null }, 'partitioned'],
  ['__Secure- without Secure', '__Secure-route', 'v', {}, 'secure'],
  ['__secure- (lower case) without Secure', '__secure-route', 'v', {}, 'secure'],
  ['__SECURE- (upper case) without Secure', '__SECURE-route', 'v', { secure: false }, 'secure'],
  ['__Host- without Secure', '__Host-route', 'v', { path: '/' }, 'secure'],
  ['__host- (lower case) without Secure', '__host-route', 'v', { path: '/' }, 'secure'],
  ['__Host- with a Domain', '__Host-route', 'v', { secure: true, path: '/', domain: 'example.com' }, 'domain'],
  ['__Host- with another Path', '__Host-route', 'v', { secure: true, path: '/app' }, 'path'],
  ['__Host- without a Path', '__Host-route', 'v', { secure: true }, 'path'],
]

for (const [label, name, value, attributes, option] of invalid) {
  serialize(`should throw StickyConfigError naming ${option} for ${label}`, () => {
    assertConfigError(() => serializeCookie(name as string, value as string, attributes as CookieAttributes), option)
  })
}

serialize('should produce exactly the expected segments for valid input (property)', () => {
  fc.assert(
    fc.property(arbitraryName, arbitraryValue, arbitraryAttributes, (name, value, attributes) => {
      const a: CookieAttributes = { ...attributes }
      if (a.sameSite === 'None' || a.partitioned === true || /^__(secure|host)-/i.test(name)) a.secure = true
      if (/^__host-/i.test(name)) {
        delete a.domain
        a.path = '/'
      }
      assert.equal(serializeCookie(name, value, a).split('; '), expectedSegments(name, value, a))
    }),
    fcParams(500),
  )
})

// A valid string with one hostile character spliced in, so that a single bad character inside otherwise valid input is tried often.
function almost(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(valid, arbitraryHostileChar, fc.nat()).map(([v, bad, at]) => {
    const i = v.length === 0 ? 0 : 1 + (at % v.length)
    return v.slice(0, i) + bad + v.slice(i)
  })
}

/** Anything at all for one field, most of it invalid. */
function anything(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(valid, almost(valid), arbitraryHostile, fc.string({ unit: 'binary' }))
}

const fields: ReadonlyArray<readonly [field: 'name' | 'value' | 'domain' | 'path', valid: fc.Arbitrary<string>]> = [
  ['name', arbitraryName],
  ['value', arbitraryValue],
  ['domain', arbitraryDomain],
  ['path', arbitraryPath],
]

for (const [field, valid] of fields) {
  serialize(`should throw StickyConfigError or emit no CR, LF, NUL or injected attribute, whatever the ${field} (property)`, () => {
    const valids = { name: arbitraryName, value: arbitraryValue, domain: arbitraryDomain, path: arbitraryPath }
    const input = fc.record({ ...valids, [field]: anything(valid) } as typeof valids)
    fc.assert(
      fc.property(input, fc.boolean(), ({ name, value, domain, path }, secure) => {
        const a: CookieAttributes = { domain, path, secure, httpOnly: true }
        let header: string
        try {
          header = serializeCookie(name, value, a)
        } catch (error) {
          assert.instance(error, StickyConfigError)
          return
        }
        assert.ok(!/[\r\n\0]/.test(header), 'no CR, LF or NUL')
        assert.ok(/^[\x20-\x7e]*$/.test(header), 'printable ASCII only')
        const expected = expectedSegments(name, value, a)
        assert.equal(header.split('; '), expected)
        assert.is(header.split(';').length, expected.length, 'no ; inside the value or an attribute')
      }),
      fcParams(500),
    )
  })
}

const parts = suite('serializeCookieParts')

parts('should cut the header around Expires', () => {
  assert.equal(
    serializeCookieParts('route', 'v', { domain: 'example.com', path: '/', maxAge: 60, secure: true, httpOnly: true, sameSite: 'Lax', partitioned: true }),
    { head: 'route=v', beforeExpires: '; Domain=example.com; Path=/', afterExpires: '; Max-Age=60; Secure; HttpOnly; SameSite=Lax; Partitioned' },
  )
  assert.equal(serializeCookieParts('route', 'v'), { head: 'route=v', beforeExpires: '', afterExpires: '' })
})

parts('should prefix the option named in errors with the scope', () => {
  const cases: ReadonlyArray<readonly [scope: string | undefined, attributes: CookieAttributes, option: string]> = [
    ['cookie', { path: 'x' }, 'cookie.path'],
    ['cookie', { sameSite: 'None' }, 'cookie.sameSite'],
    ['cookie', { maxAge: -1 }, 'cookie.maxAge'],
    ['', { path: 'x' }, 'path'],
    [undefined, { domain: '' }, 'domain'],
  ]
  for (const [scope, attributes, option] of cases) assertConfigError(() => serializeCookieParts('route', 'v', attributes, scope), option)
  assertConfigError(() => serializeCookieParts('__Host-r', 'v', { secure: true }, 'cookie'), 'cookie.path')
})

parts('should refuse expires, which belongs to joinCookieParts', () => {
  assertConfigError(() => serializeCookieParts('route', 'v', { expires: RFC_DATE } as CookieAttributes, 'cookie'), 'cookie.expires')
})

const join = suite('joinCookieParts')

join('should splice Expires between the path and Max-Age', () => {
  const p = serializeCookieParts('route', 'v', { path: '/', maxAge: 60, secure: true })
  assert.is(joinCookieParts(p, RFC_DATE.getTime()), 'route=v; Path=/; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=60; Secure')
  assert.is(joinCookieParts(p), 'route=v; Path=/; Max-Age=60; Secure')
})

join('should equal serializeCookie with the same expiry (property)', () => {
  const noExpires = arbitraryAttributes.map(({ expires: _expires, ...rest }) => rest)
  fc.assert(
    fc.property(arbitraryName, arbitraryValue, noExpires, fc.option(arbitraryExpiresMs, { nil: undefined }), (name, value, attributes, ms) => {
      const a = { ...attributes, secure: true }
      if (/^__host-/i.test(name)) {
        delete a.domain
        a.path = '/'
      }
      const expected = serializeCookie(name, value, ms === undefined ? a : { ...a, expires: new Date(ms) })
      assert.is(joinCookieParts(serializeCookieParts(name, value, a), ms), expected)
    }),
    fcParams(500),
  )
})

join('should throw RangeError for an expiry that is no four-digit-year instant', () => {
  const p = serializeCookieParts('route', 'v')
  for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, Date.UTC(10000, 0, 1), Date.UTC(-1, 0, 1)]) {
    assert.instance(
      thrown(() => joinCookieParts(p, ms)),
      RangeError,
    )
  }
})

serialize.run()
parts.run()
join.run()
