import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { StickyConfigError } from '../src/errors'
import { isAuthority, isToken, linesOf, resolveFieldName } from '../src/field-syntax'
import { isHopByHopHeader } from '../src/hop-by-hop'
import { fcParams } from './_fc'

const Syntax = suite('field syntax')

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
const token = fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 300 })
const RESERVED = ['host', 'content-length', 'content-type', 'content-encoding', 'cookie', 'set-cookie', 'authorization', 'expect', 'forwarded']

Syntax('should take a token as a field name exactly when it is short, no reserved, hop-by-hop or X-Forwarded-* field (property)', () => {
  fc.assert(
    fc.property(fc.oneof(token, fc.string(), fc.constantFrom(...RESERVED, 'X-Forwarded-Port', 'Keep-Alive', 'X-Request-Id')), (name) => {
      const lower = name.toLowerCase()
      const expected = isToken(name) && name.length <= 256 && !RESERVED.includes(lower) && !isHopByHopHeader(lower) && !lower.startsWith('x-forwarded-')
      let taken: boolean
      try {
        taken = resolveFieldName(name, 'opt', 'X-A') === name
      } catch (error) {
        assert.instance(error, StickyConfigError)
        assert.is((error as StickyConfigError).option, 'opt')
        taken = false
      }
      assert.is(taken, expected, name)
    }),
    fcParams(),
  )
})

Syntax('should read tokens and authorities by RFC 9110 and RFC 3986, with no comma in an authority', () => {
  fc.assert(
    fc.property(token, (t) => assert.ok(isToken(t))),
    fcParams(),
  )
  for (const bad of ['', 'a b', 'a:b', 'a,b', 'é', 'a\r\n']) assert.not.ok(isToken(bad), bad)
  for (const good of ['example.com', 'example.com:8080', '10.0.0.1:1', '[::1]:443', "a!$&'()*+;=%-._~b"]) assert.ok(isAuthority(good), good)
  for (const bad of ['', 'a,b', 'a b', 'a/b', 'a:123456', '[::1', `${'a'.repeat(256)}`]) assert.not.ok(isAuthority(bad), bad)
})

Syntax('should give every line of a field, none when absent', () => {
  assert.equal(linesOf(undefined), [])
  assert.equal(linesOf(null), [])
  assert.equal(linesOf('a, b'), ['a, b'])
  assert.equal(linesOf(['a', 'b']), ['a', 'b'])
})

Syntax.run()
