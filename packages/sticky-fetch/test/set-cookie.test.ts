import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { getSetCookies, splitSetCookie } from '../src/set-cookie'
import { fcParams } from './_fc'

const cookieName = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,12}$/)
const cookieValue = fc.stringMatching(/^[A-Za-z0-9!#$%&'()*+\-./:<>?@[\]^_`{|}~]{0,16}$/)
const httpDate = fc.date({ min: new Date(0), max: new Date(8e12), noInvalidDate: true }).map((d) => d.toUTCString())
const attribute = fc.oneof(
  httpDate.map((date) => `Expires=${date}`),
  fc.constantFrom('Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax', 'Max-Age=60', 'Domain=example.com'),
)
const setCookie = fc
  .tuple(cookieName, cookieValue, fc.array(attribute, { maxLength: 4 }))
  .map(([name, value, attributes]) => [`${name}=${value}`, ...attributes].join('; '))

const split = suite('splitSetCookie')

const cases: ReadonlyArray<{ joined: string; expected: string[] }> = [
  { joined: '', expected: [] },
  { joined: 'a=1', expected: ['a=1'] },
  { joined: 'a=1, b=2', expected: ['a=1', 'b=2'] },
  {
    joined: 'a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Path=/, b=2; HttpOnly',
    expected: ['a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Path=/', 'b=2; HttpOnly'],
  },
  { joined: 'a=x,y, b=2', expected: ['a=x,y', 'b=2'] },
  { joined: ' , a=1 ,, ', expected: ['a=1 ,,'] },
]
for (const { joined, expected } of cases) {
  split(`should split ${JSON.stringify(joined)} into ${expected.length} cookies`, () => {
    assert.equal(splitSetCookie(joined), expected)
  })
}

split('should give back every cookie of a comma-joined list', () => {
  fc.assert(
    fc.property(fc.array(setCookie, { maxLength: 6 }), (cookies) => {
      assert.equal(splitSetCookie(cookies.join(', ')), cookies)
    }),
    fcParams(),
  )
})

split('should never throw on any text', () => {
  fc.assert(
    fc.property(fc.string(), (text) => Array.isArray(splitSetCookie(text))),
    fcParams(),
  )
})
split.run()

const get = suite('getSetCookies')

get('should return each Set-Cookie header separately', () => {
  const headers = new Headers([
    ['set-cookie', 'a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT'],
    ['content-type', 'text/plain'],
    ['set-cookie', 'b=2'],
  ])
  assert.equal(getSetCookies(headers), ['a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT', 'b=2'])
})

get('should return an empty list when there is no Set-Cookie', () => {
  assert.equal(getSetCookies(new Headers({ 'content-type': 'text/plain' })), [])
})

get('should split the joined header where getSetCookie is missing (older runtimes)', () => {
  const headers = new Headers([
    ['set-cookie', 'a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT'],
    ['set-cookie', 'b=2'],
  ])
  // An older runtime's Headers: same object, no getSetCookie.
  Object.defineProperty(headers, 'getSetCookie', { value: undefined })
  assert.equal(getSetCookies(headers), ['a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT', 'b=2'])
})
get.run()
