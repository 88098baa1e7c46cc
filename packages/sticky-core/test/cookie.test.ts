import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { parseCookie, serializeCookie } from '../src/cookie'
import { fcParams } from './_fc'
import { arbitraryHostile, arbitraryName, arbitraryValue, thrown } from './_cookie'

const parse = suite('parseCookie')

const cases: ReadonlyArray<readonly [header: string, name: string, expected: string | undefined]> = [
  ['route=a', 'route', 'a'],
  [' route = a ', 'route', 'a'],
  ['\troute\t=\ta\t', 'route', 'a'],
  ['route=a b', 'route', 'a b'],
  ['route="a"', 'route', 'a'],
  ['route= "a" ', 'route', 'a'],
  ['route=" a "', 'route', ' a '],
  ['route=""', 'route', ''],
  ['route=""a""', 'route', '"a"'],
  ['route="', 'route', '"'],
  ['route="a', 'route', '"a'],
  ['route=a"', 'route', 'a"'],
  ['route=', 'route', ''],
  ['route=   ', 'route', ''],
  ['route=a;', 'route', 'a'],
  ['route=a ; b=c', 'route', 'a'],
  ['route=1=2', 'route', '1=2'],
  ['route=a,b', 'route', 'a,b'],
  ['route=%41%3B', 'route', '%41%3B'],
  ['x=1;route=2;route=3', 'route', '2'],
  ['route=2; route=3', 'route', '2'],
  ['xroute=1; route=2', 'route', '2'],
  ['routex=1; route=2', 'route', '2'],
  ['route;route=b', 'route', 'b'],
  ['=1; route=2', 'route', '2'],
  ['  ;  ; route=1', 'route', '1'],
  ['a=b;c=d;route=e', 'route', 'e'],
  ['a=b;c=d;route=e', 'c', 'd'],
  ['route', 'route', undefined],
  ['routex=1', 'route', undefined],
  ['xroute=1', 'route', undefined],
  ['Route=1', 'route', undefined],
  ['ROUTE=1', 'route', undefined],
  ['a=route; b=route', 'route', undefined],
  ['a=route=1', 'route', undefined],
  ['a="route=1"', 'route', undefined],
  ['r oute=1', 'route', undefined],
  ['route\n=1', 'route', undefined],
  ['\nroute=1', 'route', undefined],
  ['route\u00a0=1', 'route', undefined],
  [';;;', 'route', undefined],
  ['', 'route', undefined],
  ['===', 'route', undefined],
  ['a b=1', 'a b', '1'],
]

for (const [header, name, expected] of cases) {
  parse(`should read ${JSON.stringify(name)} from ${JSON.stringify(header)} as ${JSON.stringify(expected)}`, () => {
    assert.is(parseCookie(header, name), expected)
  })
}

parse('should return undefined for a header that is not a string', () => {
  for (const header of [null, undefined, 42, {}, [], ['route=a'], { toString: () => 'route=a' }, Symbol('route')]) {
    assert.is(parseCookie(header as unknown as string, 'route'), undefined)
  }
})

parse('should return undefined for an empty or non-string name', () => {
  for (const name of ['', null, undefined, 1, {}]) {
    assert.is(parseCookie('=1; route=2', name as unknown as string), undefined)
  }
})

parse('should treat __proto__, constructor and other Object.prototype names like any other name', () => {
  const header = 'constructor=c; __proto__=p; toString=t'
  assert.is(parseCookie(header, '__proto__'), 'p')
  assert.is(parseCookie(header, 'constructor'), 'c')
  assert.is(parseCookie(header, 'toString'), 't')
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    assert.is(parseCookie('route=a', name), undefined)
  }
  assert.is(({} as Record<string, unknown>)['p'], undefined)
})

parse('should find the last pair among 10 000', () => {
  const pairs = Array.from({ length: 10_000 }, (_, i) => `c${i}=${i}`)
  const header = `${pairs.join('; ')}; route=last`
  assert.is(parseCookie(header, 'route'), 'last')
  assert.is(parseCookie(header, 'c9999'), '9999')
  assert.is(parseCookie(header, 'c0'), '0')
  assert.is(parseCookie(header, 'c10000'), undefined)
})

parse('should handle pathological 64 KiB headers', () => {
  const size = 64 * 1024
  const shapes: ReadonlyArray<readonly [string, string | undefined]> = [
    [';'.repeat(size), undefined],
    ['='.repeat(size), undefined],
    [' '.repeat(size), undefined],
    ['a;'.repeat(size / 2), undefined],
    ['a='.repeat(size / 2), undefined],
    ['route'.repeat(size / 5), undefined],
    [`${'x;'.repeat(size / 2)}route=1`, '1'],
    [`${' '.repeat(size)}route=1`, '1'],
    [`route=${'v'.repeat(size)}`, 'v'.repeat(size)],
    [`route="${' '.repeat(size)}"`, ' '.repeat(size)],
  ]
  for (const [header, expected] of shapes) assert.is(parseCookie(header, 'route'), expected)
})

parse('should never throw and return undefined or a substring of the header (property)', () => {
  fc.assert(
    fc.property(fc.oneof(arbitraryHostile, fc.string({ unit: 'binary' })), fc.oneof(arbitraryName, arbitraryHostile), (header, name) => {
      const error = thrown(() => parseCookie(header, name))
      assert.is(error, undefined)
      const value = parseCookie(header, name)
      if (value !== undefined) assert.ok(header.includes(value))
    }),
    fcParams(500),
  )
})

parse('should return the value of the first pair with the name (property against a model)', () => {
  const pair = fc.record({ name: fc.oneof(arbitraryName, fc.constantFrom('route', 'xroute', 'routex', 'rout')), value: arbitraryValue })
  const separator = fc.constantFrom(';', '; ', ' ;', ';\t', ' ; ')
  fc.assert(
    fc.property(fc.array(pair, { maxLength: 12 }), separator, fc.oneof(arbitraryName, fc.constant('route')), (pairs, sep, name) => {
      const header = pairs.map((p) => `${p.name}=${p.value}`).join(sep)
      const expected = pairs.find((p) => p.name === name)?.value
      assert.is(parseCookie(header, name), expected)
    }),
    fcParams(500),
  )
})

parse('should not match a name that appears only as a value or inside another name (property)', () => {
  fc.assert(
    fc.property(arbitraryName, arbitraryValue, (name, value) => {
      fc.pre(name !== 'other' && name !== 'q')
      const header = `x${name}=${value}; ${name}x=${value}; other=${name}; q="${name}=${value}"`
      assert.is(parseCookie(header, name), undefined)
    }),
    fcParams(300),
  )
})

const roundTrip = suite('parseCookie of serializeCookie')

roundTrip('should give back the value from the name=value part (property)', () => {
  fc.assert(
    fc.property(arbitraryName, arbitraryValue, fc.boolean(), (name, value, secure) => {
      const header = serializeCookie(name, value, { path: '/', secure, httpOnly: true, maxAge: 60 })
      const semicolon = header.indexOf(';')
      const pair = semicolon === -1 ? header : header.slice(0, semicolon)
      assert.is(parseCookie(pair, name), value)
    }),
    fcParams(500),
  )
})

roundTrip('should give back the first value of each name from several cookies joined by "; " (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(arbitraryName, arbitraryValue), { minLength: 1, maxLength: 10 }), (cookies) => {
      const header = cookies.map(([name, value]) => serializeCookie(name, value)).join('; ')
      for (const [name] of cookies) {
        assert.is(parseCookie(header, name), cookies.find(([n]) => n === name)?.[1])
      }
    }),
    fcParams(300),
  )
})

parse.run()
roundTrip.run()
