import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { isSaneRequestId, MAX_REQUEST_ID_LENGTH, requestIdFor } from '../src/request-id'
import { fcParams } from './_fc'

const RequestId = suite('requestIdFor')

const counter = (): (() => string) => {
  let n = 0
  return () => `generated-${++n}`
}

RequestId("should pass a trusted hop's sane id on and generate one otherwise", () => {
  const cases: [Parameters<typeof requestIdFor>[0], boolean, string][] = [
    ['edge-42', true, 'edge-42'],
    ['  edge-42 ', true, 'edge-42'],
    ['edge-42', false, 'generated-1'],
    [undefined, true, 'generated-1'],
    [null, true, 'generated-1'],
    ['', true, 'generated-1'],
    ['two words', true, 'generated-1'],
    ['caf\u00e9', true, 'generated-1'],
    ['a\u0000b', true, 'generated-1'],
    [['a', 'b'], true, 'generated-1'],
    [['a'], true, 'a'],
    ['x'.repeat(MAX_REQUEST_ID_LENGTH), true, 'x'.repeat(MAX_REQUEST_ID_LENGTH)],
    ['x'.repeat(MAX_REQUEST_ID_LENGTH + 1), true, 'generated-1'],
  ]
  for (const [incoming, trusted, expected] of cases) assert.is(requestIdFor(incoming, trusted, counter()), expected, JSON.stringify([incoming, trusted]))
})

RequestId('property: an untrusted client never chooses the id', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.constant(undefined)), (incoming) => {
      assert.is(
        requestIdFor(incoming, false, () => 'ours'),
        'ours',
      )
    }),
    fcParams(),
  )
})

RequestId('property: a trusted id is kept exactly when it is 1 to 200 visible ASCII characters', () => {
  fc.assert(
    fc.property(
      fc.string({
        maxLength: 210,
        unit: fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xffff })).map((c) => String.fromCharCode(c)),
      }),
      (value) => {
        const sane = value.length >= 1 && value.length <= 200 && /^[\x21-\x7e]+$/.test(value)
        assert.is(isSaneRequestId(value), sane)
        // Surrounding whitespace is the field's, not the id's.
        if (sane)
          assert.is(
            requestIdFor(` ${value}\t`, true, () => 'ours'),
            value,
          )
        else if (value.trim() === value)
          assert.is(
            requestIdFor(value, true, () => 'ours'),
            'ours',
          )
      },
    ),
    fcParams(),
  )
})
RequestId('should keep ids of up to 200 visible ASCII characters, DEL and a 201st character excluded', () => {
  assert.is(MAX_REQUEST_ID_LENGTH, 200)
  assert.ok(isSaneRequestId('x'.repeat(200)))
  assert.not.ok(isSaneRequestId('x'.repeat(201)))
  assert.ok(isSaneRequestId('!~'))
  for (const value of ['a\u007fb', '\u007f', 'a b', 'a\tb']) assert.not.ok(isSaneRequestId(value), JSON.stringify(value))
})

RequestId('should keep a trusted one-line id with a comma whole: the line is the id, not a list', () => {
  assert.is(requestIdFor('edge-1,edge-2', true, counter()), 'edge-1,edge-2')
})

RequestId.run()
