import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { StickyConfigError } from 'sticky-core'
import { isUnderPrefix, normalizePrefix, upstreamPath } from '../src/prefix'
import { checkProperty } from './_seed'

/** A literal path segment, as a prefix is made of. */
const segment = fc.stringMatching(/^[a-z0-9._~-]{1,8}$/)
/** A normalised prefix: '' or '/a/b'. */
const arbitraryPrefix = fc.array(segment, { maxLength: 3 }).map((parts) => parts.map((p) => `/${p}`).join(''))
/** A path and optional query as a client sends it. */
const arbitraryRest = fc
  .tuple(fc.array(fc.stringMatching(/^[a-zA-Z0-9._~%-]{0,6}$/), { maxLength: 4 }), fc.option(fc.stringMatching(/^[a-z0-9=&]{0,8}$/)))
  .map(([parts, query]) => parts.map((p) => `/${p}`).join('') + (query === null ? '' : `?${query}`))

const normalize = suite('normalizePrefix')

const normalizeCases: ReadonlyArray<readonly [string | undefined, string]> = [
  [undefined, ''],
  ['', ''],
  ['/', ''],
  ['//', ''],
  ['app', '/app'],
  ['/app', '/app'],
  ['/app/', '/app'],
  ['/a/b/', '/a/b'],
]
for (const [input, expected] of normalizeCases) {
  normalize(`should normalise ${JSON.stringify(input)} to ${JSON.stringify(expected)}`, () => {
    assert.is(normalizePrefix('prefix', input), expected)
  })
}

for (const bad of ['/:id', '/a/*', '/a?b', '/a#b', '/a b', '/a%20b', '/a\nb']) {
  normalize(`should reject ${JSON.stringify(bad)} with a StickyConfigError naming the option`, () => {
    try {
      normalizePrefix('rewritePrefix', bad)
      assert.unreachable('accepted')
    } catch (error) {
      assert.instance(error, StickyConfigError)
      assert.is((error as StickyConfigError).option, 'rewritePrefix')
      assert.is((error as StickyConfigError).value, bad)
    }
  })
}

normalize('should be idempotent and give "" or a path without a trailing slash', () => {
  checkProperty('normalizePrefix idempotent', fc.array(segment, { maxLength: 3 }), fc.boolean(), fc.boolean(), (parts, lead, trail) => {
    const raw = (lead ? '/' : '') + parts.join('/') + (trail ? '/' : '')
    const once = normalizePrefix('prefix', raw)
    assert.is(normalizePrefix('prefix', once), once)
    assert.ok(once === '' || (once.startsWith('/') && !once.endsWith('/')))
  })
})

normalize.run()

const under = suite('isUnderPrefix')

const underCases: ReadonlyArray<readonly [string, string, boolean]> = [
  ['/anything', '', true],
  ['/app', '/app', true],
  ['/app/', '/app', true],
  ['/app/x/y', '/app', true],
  ['/app?q=1', '/app', true],
  ['/appx', '/app', false],
  ['/ap', '/app', false],
  ['/other/app', '/app', false],
]
for (const [url, prefix, expected] of underCases) {
  under(`should say ${expected} for ${url} under ${JSON.stringify(prefix)}`, () => {
    assert.is(isUnderPrefix(url, prefix), expected)
  })
}

under('should accept every URL built as prefix + rest and reject a longer first segment', () => {
  checkProperty('isUnderPrefix', arbitraryPrefix, arbitraryRest, segment, (prefix, rest, extra) => {
    assert.ok(isUnderPrefix(prefix + rest, prefix))
    if (prefix !== '') assert.not.ok(isUnderPrefix(prefix + extra + rest, prefix))
  })
})

under.run()

const upstream = suite('upstreamPath')

const upstreamCases: ReadonlyArray<readonly [string, string, string, string]> = [
  // [url, prefix, rewritePrefix, expected]
  ['/app/a/b?q=1', '/app', '', '/a/b'],
  ['/app', '/app', '', '/'],
  ['/app/', '/app', '', '/'],
  ['/app?q=1', '/app', '', '/'],
  ['/app/a', '/app', '/app', '/app/a'],
  ['/app', '/app', '/app', '/app'],
  ['/app/a', '/app', '/v2', '/v2/a'],
  ['/a//b', '', '', '/a//b'],
  ['//evil.example/x', '', '', '//evil.example/x'],
]
for (const [url, prefix, rewrite, expected] of upstreamCases) {
  upstream(`should map ${url} under ${JSON.stringify(prefix)} with rewrite ${JSON.stringify(rewrite)} to ${expected}`, () => {
    assert.is(upstreamPath(url, prefix, rewrite), expected)
  })
}

upstream('should keep the URL path unchanged when the prefix is rewritten to itself', () => {
  checkProperty('upstreamPath keep', arbitraryPrefix, arbitraryRest, (prefix, rest) => {
    const url = prefix + rest
    const path = url.split('?')[0] ?? ''
    assert.is(upstreamPath(url, prefix, prefix), path === '' ? '/' : path)
  })
})

upstream('should strip exactly the prefix, never the query, and always start with a slash', () => {
  checkProperty('upstreamPath strip', arbitraryPrefix, arbitraryRest, arbitraryPrefix, (prefix, rest, rewrite) => {
    const out = upstreamPath(prefix + rest, prefix, rewrite)
    const restPath = rest.split('?')[0] ?? ''
    assert.ok(out.startsWith('/'))
    assert.not.ok(out.includes('?'))
    assert.is(out, rewrite + restPath === '' ? '/' : rewrite + restPath)
  })
})

upstream.run()
