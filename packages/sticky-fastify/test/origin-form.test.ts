import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { originForm } from '../src/origin-form'
import { checkProperty } from './_seed'

const origin = suite('originForm')

const cases: ReadonlyArray<readonly [string, string]> = [
  ['/a/b?c=1', '/a/b?c=1'],
  ['//evil.example/x', '//evil.example/x'],
  ['http://evil.example/x', '/x'],
  ['HTTPS://evil.example:8443/a/../b?q', '/a/../b?q'],
  ['http://evil.example', '/'],
  ['http://evil.example?q=1', '/?q=1'],
  ['http://user@evil.example/x', '/x'],
  ['ftp://evil.example/x', 'ftp://evil.example/x'],
  ['*', '*'],
]
for (const [target, expected] of cases) {
  origin(`should turn ${JSON.stringify(target)} into ${JSON.stringify(expected)}`, () => {
    assert.is(originForm(target), expected)
  })
}

/** A path and optional query in origin form. */
const path = fc
  .tuple(fc.array(fc.stringMatching(/^[a-zA-Z0-9._~%:@-]{0,6}$/), { minLength: 1, maxLength: 4 }), fc.option(fc.stringMatching(/^[a-z0-9=&/:]{0,8}$/)))
  .map(([parts, query]) => parts.map((p) => `/${p}`).join('') + (query === null ? '' : `?${query}`))
const authority = fc.stringMatching(/^[a-z0-9.-]{1,12}(:[0-9]{1,5})?$/)

origin('should keep an origin-form target as it is', () => {
  checkProperty('originForm origin form', path, (p) => {
    assert.is(originForm(p), p)
  })
})

origin('should keep exactly the path and query of an absolute-form target', () => {
  checkProperty('originForm absolute form', fc.constantFrom('http', 'https', 'HTTP', 'Https'), authority, path, (scheme, host, p) => {
    assert.is(originForm(`${scheme}://${host}${p}`), p)
  })
})

origin('should never throw, and give a path or the target unchanged', () => {
  checkProperty('originForm total', fc.string(), (target) => {
    const out = originForm(target)
    assert.ok(out.startsWith('/') || out === target)
  })
})

origin.run()
