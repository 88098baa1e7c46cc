import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { serializeCookieParts } from '../src/cookie'
import { createPinCookie, isConstantPinCookie, renderPinCookie } from '../src/pin-cookie'
import { fcParams } from './_fc'

const parts = (maxAge?: number) => serializeCookieParts('route', 'abc', maxAge === undefined ? { path: '/' } : { path: '/', maxAge }, 'cookie')

// ---------------------------------------------------------------- createPinCookie
const Create = suite('createPinCookie')

Create('should render a session cookie once, the same at every instant', () => {
  const cookie = createPinCookie(parts(), undefined)
  assert.ok(isConstantPinCookie(cookie))
  fc.assert(
    fc.property(fc.double(), (now) => {
      assert.is(renderPinCookie(cookie, now), 'route=abc; Path=/')
    }),
    fcParams(),
  )
})
Create.run()

// ---------------------------------------------------------------- renderPinCookie
const Render = suite('renderPinCookie')

const expected = (lifetime: number, now: number): string =>
  `route=abc; Path=/; Expires=${new Date((Math.floor(now / 1000) + lifetime) * 1000).toUTCString()}; Max-Age=${lifetime}`

Render('should put the current second plus the lifetime in Expires', () => {
  const cookie = createPinCookie(parts(3600), 3600)
  assert.not.ok(isConstantPinCookie(cookie))
  assert.is(renderPinCookie(cookie, Date.UTC(2026, 0, 2, 3, 4, 5, 999)), 'route=abc; Path=/; Expires=Fri, 02 Jan 2026 04:04:05 GMT; Max-Age=3600')
})

Render('should reuse the rendered header within a second and renew it in the next', () => {
  const cookie = createPinCookie(parts(60), 60)
  const first = renderPinCookie(cookie, 1_000_000)
  assert.is(renderPinCookie(cookie, 1_000_999), first)
  assert.is.not(renderPinCookie(cookie, 1_001_000), first)
  assert.is(renderPinCookie(cookie, 1_000_500), first, 'a clock that goes back renders again')
})

Render('should agree with Date#toUTCString for any clock reading, in any order', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 400 * 86_400 }),
      fc.array(fc.integer({ min: 0, max: 250_000_000_000_000 }), { minLength: 1, maxLength: 8 }),
      (lifetime, nows) => {
        const cookie = createPinCookie(parts(lifetime), lifetime)
        for (const now of nows) assert.is(renderPinCookie(cookie, now), expected(lifetime, now))
      },
    ),
    fcParams(),
  )
})

Render('should leave Expires out rather than throw for a clock an HTTP-date cannot spell', () => {
  const cookie = createPinCookie(parts(60), 60)
  for (const now of [Number.NaN, Infinity, -Infinity, -1_000_000, 1e17]) {
    assert.is(renderPinCookie(cookie, now), 'route=abc; Path=/; Max-Age=60')
  }
})
Render.run()
