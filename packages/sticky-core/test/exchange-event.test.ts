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

Path('property: nothing after the first "?" survives, everything before it does', () => {
  fc.assert(
    fc.property(
      fc.string().filter((s) => !s.includes('?')),
      fc.option(fc.string(), { nil: undefined }),
      (path, query) => {
        assert.is(pathOf(query === undefined ? path : `${path}?${query}`), path)
      },
    ),
    fcParams(),
  )
})

Path.run()
