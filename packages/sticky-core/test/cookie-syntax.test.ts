import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { assertCookieDomain, assertCookieName, assertCookiePath, assertCookieValue } from '../src/cookie-syntax'
import { StickyConfigError } from '../src/errors'
import { fcParams } from './_fc'
import { arbitraryDomain, arbitraryHostile, arbitraryHostileChar, arbitraryName, arbitraryPath, arbitraryValue, thrown } from './_cookie'

type Assertion = (input: unknown, option: string) => void

/** Models written from the RFC grammars, independently of the scanning code under test. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const COOKIE_OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/
const PATH = /^\/[\x20-\x3a\x3c-\x7e]*$/
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

function domainModel(domain: string): boolean {
  const name = domain.startsWith('.') ? domain.slice(1) : domain
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => LABEL.test(label))
}

function accepts(check: Assertion, input: unknown): boolean {
  const error = thrown(() => check(input, 'cookie.x'))
  if (error === undefined) return true
  assert.instance(error, StickyConfigError)
  assert.is((error as StickyConfigError).option, 'cookie.x')
  assert.is((error as StickyConfigError).value, input)
  return false
}

/** Mostly-valid strings with a hostile character somewhere, plus raw hostile text. */
function around(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const spliced = fc.tuple(valid, arbitraryHostileChar, fc.nat()).map(([v, c, at]) => {
    const i = v.length === 0 ? 0 : at % (v.length + 1)
    return v.slice(0, i) + c + v.slice(i)
  })
  return fc.oneof(valid, spliced, arbitraryHostile, fc.string({ unit: 'binary' }))
}

const validators: ReadonlyArray<{
  name: string
  check: Assertion
  model: (s: string) => boolean
  arbitrary: fc.Arbitrary<string>
  good: readonly string[]
  bad: readonly unknown[]
}> = [
  {
    name: 'assertCookieName',
    check: assertCookieName,
    model: (s) => TOKEN.test(s) && s.length <= 4096,
    arbitrary: around(arbitraryName),
    good: ['route', 'SERVERID', '__Host-route', "!#$%&'*+-.^_`|~", 'a'.repeat(4096)],
    bad: [
      '',
      ' ',
      'a b',
      'a=b',
      'a;b',
      'a,b',
      'a"b',
      'a(b)',
      'a/b',
      'a:b',
      'a@b',
      'a[b]',
      'a{b}',
      'a?b',
      'a<b>',
      'a\\b',
      'a\tb',
      'a\x7f',
      'a\0',
      'é',
      'a'.repeat(4097),
      1,
      null,
      undefined,
    ],
  },
  {
    name: 'assertCookieValue',
    check: assertCookieValue,
    model: (s) => COOKIE_OCTETS.test(s) && s.length <= 4096,
    arbitrary: around(arbitraryValue),
    good: ['', 'a', '0123456789abcdef0123456789abcdef', '10.0.0.1:8080', '[::1]:80', 'unix:/tmp/s', 'a=b', '%3B', "!#$%&'()*+-./:<=>?@[]^_`{|}~"],
    bad: [' ', 'a b', '"a"', 'a,b', 'a;b', 'a\\b', 'a\tb', '\r', '\n', '\0', '\x7f', 'é', '\ud800', 'v'.repeat(4097), 1, null, undefined],
  },
  {
    name: 'assertCookieDomain',
    check: assertCookieDomain,
    model: domainModel,
    arbitrary: around(arbitraryDomain),
    good: [
      'example.com',
      '.example.com',
      'localhost',
      'EXAMPLE.com',
      '127.0.0.1',
      'xn--bcher-kva.example',
      '0a.example',
      'a-b.c',
      `${'a'.repeat(63)}.com`,
      `${'a.'.repeat(125)}abc`,
    ],
    bad: [
      '',
      '.',
      '..example.com',
      'example.com.',
      'a..b',
      '-a.com',
      'a-.com',
      'a_b.com',
      'a b.com',
      'a;b',
      'a,b',
      'a\r\n',
      'bücher.example',
      '[::1]',
      'a:80',
      'a/b',
      `${'a'.repeat(64)}.com`,
      `${'a.'.repeat(126)}ab`,
      1,
      null,
      undefined,
    ],
  },
  {
    name: 'assertCookiePath',
    check: assertCookiePath,
    model: (s) => PATH.test(s) && s.length <= 1024,
    arbitrary: around(arbitraryPath),
    good: ['/', '/app', '/a b', '/a,b"c\\d', '/%3B', `/${'a'.repeat(1023)}`],
    bad: ['', 'app', ' /', '/a;b', '/\r', '/\n', '/\0', '/\t', '/\x7f', '/é', `/${'a'.repeat(1024)}`, 1, null, undefined],
  },
]

for (const { name, check, model, arbitrary, good, bad } of validators) {
  const s = suite(name)
  for (const input of good) {
    s(`should accept ${JSON.stringify(input.length > 40 ? `${input.slice(0, 20)}... (${input.length})` : input)}`, () => {
      assert.ok(accepts(check, input))
    })
  }
  for (const input of bad) {
    const shown = typeof input === 'string' ? JSON.stringify(input.length > 40 ? `${input.slice(0, 20)}... (${input.length})` : input) : String(input)
    s(`should reject ${shown} with a StickyConfigError naming the option`, () => {
      assert.not.ok(accepts(check, input))
    })
  }
  s('should accept exactly what the RFC grammar accepts (property)', () => {
    fc.assert(
      fc.property(arbitrary, (input) => {
        assert.is(accepts(check, input), model(input), JSON.stringify(input))
      }),
      fcParams(1000),
    )
  })
  s.run()
}
