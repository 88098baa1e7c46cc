import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { answerHasContent, contentLength, contentLengthAllowed, relayableField, relayableReason, relayableStatus, uploadUnderWay } from '../src/relay'
import { fcParams } from './_fc'

const Fields = suite('relayableField and relayableReason')

Fields('should keep tokens with visible, space, tab and obs-text values', () => {
  assert.ok(relayableField('x-request-id', 'abc 123\tdef'))
  assert.ok(relayableField("!#$%&'*+-.^_`|~", 'v'))
  assert.ok(relayableField('x-latin', 'Gr\xfc\xdfe'))
  assert.ok(relayableField('x-empty', ''))
  assert.ok(relayableReason('Not Found'))
  assert.ok(relayableReason(''))
})

Fields('should refuse names that are no token and values with control bytes, DEL or characters beyond latin-1', () => {
  for (const name of ['', 'x h', 'x:h', 'x-h\xe9st', 'x-h\ufffdst', 'x\r\nset-cookie']) assert.not.ok(relayableField(name, 'v'), JSON.stringify(name))
  for (const value of ['a\x00b', 'a\x01b', 'a\rb', 'a\nb', 'a\x7fb', 'caf\u0100', 'a\r\nSet-Cookie: x=1']) {
    assert.not.ok(relayableField('x', value), JSON.stringify(value))
    assert.not.ok(relayableReason(value), JSON.stringify(value))
  }
})

Fields('property: whatever is relayable cannot end a field line or the head', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 24 }), (name, value) => {
      if (relayableField(name, value)) {
        assert.not.ok(/[\r\n\x00:]/.test(name) || /[\r\n\x00]/.test(value))
        assert.ok([...`${name}: ${value}`].every((c) => c.charCodeAt(0) <= 0xff))
      }
      if (relayableReason(value)) assert.not.ok(/[\r\n]/.test(value))
    }),
    fcParams(),
  )
})

const Length = suite('contentLength')

Length('should read a length, a list of one length, and nothing', () => {
  assert.is(contentLength('12'), 12)
  assert.is(contentLength('0'), 0)
  assert.is(contentLength(' 7 '), 7)
  assert.is(contentLength('5, 5'), 5)
  assert.is(contentLength(['5', '5,5']), 5)
  assert.is(contentLength('999999999999999'), 999999999999999)
  assert.is(contentLength(undefined), undefined)
  assert.is(contentLength(null), undefined)
  assert.is(contentLength([]), undefined)
})

Length('should call signs, empty values, differing values and overflowing numbers invalid', () => {
  for (const value of ['', ' ', '+2', '-1', '2.0', '0x10', 'abc', '1 2', '5, 6', '5,', '1000000000000000', '99999999999999999999999']) {
    assert.is(contentLength(value), 'invalid', JSON.stringify(value))
  }
  assert.is(contentLength(['5', '6']), 'invalid')
})

Length('property: a length written any way that RFC 9110 allows reads back as itself', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).filter((n) => n < 1e15),
      fc.integer({ min: 1, max: 3 }),
      fc.boolean(),
      (n, copies, split) => {
        const members = Array.from({ length: copies }, () => String(n))
        const values = split ? members : members.join(', ')
        assert.is(contentLength(values), n)
      },
    ),
    fcParams(),
  )
})

Length('property: anything but digits, commas and spaces is invalid', () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 10 }).filter((s) => /[^\d, \t]/.test(s)),
      (value) => {
        assert.is(contentLength(value), 'invalid')
      },
    ),
    fcParams(),
  )
})

Fields.run()
Length.run()

const Status = suite('relayableStatus')

Status('should relay exactly the final statuses RFC 9110 defines a class for, 200 to 599', () => {
  for (const status of [200, 204, 304, 404, 499, 599]) assert.ok(relayableStatus(status), String(status))
  for (const status of [0, 99, 100, 101, 103, 199, 600, 999, 1000, -200, 200.5, Number.NaN, Number.POSITIVE_INFINITY])
    assert.not.ok(relayableStatus(status), String(status))
})

Status('should agree with the range check for every number (property)', () => {
  fc.assert(
    fc.property(fc.oneof(fc.integer({ min: -10, max: 1100 }), fc.double()), (status) => {
      assert.is(relayableStatus(status), Number.isInteger(status) && status >= 200 && status < 600)
    }),
    fcParams(),
  )
})
Status.run()

const LengthAllowed = suite('contentLengthAllowed')

LengthAllowed('should refuse Content-Length on 1xx and 204 heads only (RFC 9110 section 8.6)', () => {
  for (const status of [100, 101, 103, 199, 204]) assert.not.ok(contentLengthAllowed(status), String(status))
  for (const status of [200, 201, 205, 206, 304, 404, 502]) assert.ok(contentLengthAllowed(status), String(status))
})
LengthAllowed.run()

const Content = suite('answerHasContent')

Content('should say no content for HEAD, 1xx, 204 and 304, whatever else (RFC 9110 section 6.4.1)', () => {
  for (const status of [100, 101, 204, 304]) assert.not.ok(answerHasContent('GET', status), String(status))
  for (const status of [200, 204, 404, 500]) assert.not.ok(answerHasContent('HEAD', status), `HEAD ${status}`)
  for (const status of [200, 201, 205, 206, 301, 404, 502]) assert.ok(answerHasContent('GET', status), String(status))
  assert.ok(answerHasContent('head', 200), 'methods are case-sensitive: head is not HEAD')
})
Content.run()

const Upload = suite('uploadUnderWay')

Upload('should call a body on its way until its declared length was taken, or, without one, its end read', () => {
  assert.ok(uploadUnderWay(0, 10, false))
  assert.ok(uploadUnderWay(9, 10, false))
  assert.not.ok(uploadUnderWay(10, 10, false), 'taken whole, its end not yet read')
  assert.not.ok(uploadUnderWay(3, 10, true), 'ended')
  assert.ok(uploadUnderWay(1_000, undefined, false), 'chunked: until its end')
  assert.ok(uploadUnderWay(1_000, 'invalid', false), 'an unusable length counts as none')
})

Upload('property: on its way exactly while not ended and short of a numeric length', () => {
  fc.assert(
    fc.property(fc.nat(), fc.oneof(fc.nat(), fc.constant('invalid' as const), fc.constant(undefined)), fc.boolean(), (taken, declared, ended) => {
      assert.is(uploadUnderWay(taken, declared, ended), !ended && (typeof declared !== 'number' || taken < declared))
    }),
    fcParams(),
  )
})
Upload.run()
