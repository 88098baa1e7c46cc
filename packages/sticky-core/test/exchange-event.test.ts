import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { pathOf } from '../src/exchange-event'
import { fcParams } from './_fc'

const Path = suite('pathOf')

Path('should keep the path and drop the query', () => {
  assert.is(pathOf('/a/b?token=secret&x=1'), '/a/b')
  assert.is(pathOf('/a/b'), '/a/b')
  assert.is(pathOf('/?'), '/')
  assert.is(pathOf('*'), '*')
  assert.is(pathOf('/a?b?c'), '/a')
})

Path('should drop the scheme and authority of an absolute-form target (its userinfo is a credential)', () => {
  assert.is(pathOf('http://user:secret@example.com/a/b?token=1'), '/a/b')
  assert.is(pathOf('https://example.com'), '/')
  assert.is(pathOf('HTTP://example.com?q=1'), '/')
  assert.is(pathOf('http://example.com#x'), '/#x')
  assert.is(pathOf('/a/http://b/c'), '/a/http://b/c', 'origin-form stays as it is')
  assert.is(pathOf('1a://b/c'), '1a://b/c', 'not a scheme')
})

Path('property: nothing after the first "?" survives, everything before it does', () => {
  fc.assert(
    fc.property(
      fc.string().filter((s) => !s.includes('?') && !s.includes('://')),
      fc.option(fc.string(), { nil: undefined }),
      (path, query) => {
        assert.is(pathOf(query === undefined ? path : `${path}?${query}`), path)
      },
    ),
    fcParams(),
  )
})

Path('property: an absolute-form target has the path of its origin-form, whatever its authority', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('http', 'https', 'ws'),
      fc.stringMatching(/^[^/?#]*$/),
      fc.string().map((rest) => `/${rest}`),
      (scheme, authority, originForm) => {
        assert.is(pathOf(`${scheme}://${authority}${originForm}`), pathOf(originForm))
      },
    ),
    fcParams(),
  )
})

Path.run()
