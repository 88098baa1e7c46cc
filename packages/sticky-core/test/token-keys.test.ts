import fc from 'fast-check'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { parseTokenKeys } from '../src/token-keys'
import { fcParams } from './_fc'

const Keys = suite('parseTokenKeys')
const S1 = 'a'.repeat(32)
const S2 = 'b:c'.repeat(11)

Keys('should read id:secret lines in order, skipping blanks and comments, the secret keeping its colons', () => {
  const reading = parseTokenKeys(`# keys\n\n  new : ${S1}  \nold:${S2}\n`)
  assert.equal(reading, {
    ok: true,
    keys: [
      { id: 'new', secret: S1 },
      { id: 'old', secret: S2 },
    ],
  })
})

Keys('should name the line and never its content', () => {
  const cases: [string, number | undefined, RegExp][] = [
    [`k1 ${S1}`, 1, /expected id:secret/],
    [`#\nnine-char:${S1}`, 2, /1 to 8 characters/],
    [`k1:${S1}\nk1:${S2}`, 2, /same key id as line 1/],
    ['k1:short-secret', 1, /is 12 bytes; at least 32/],
    ['# only a comment\n\n', undefined, /no key/],
  ]
  for (const [text, line, reason] of cases) {
    const reading = parseTokenKeys(text)
    if (reading.ok) throw new Error(`accepted ${JSON.stringify(text)}`)
    assert.is(reading.line, line, text)
    assert.match(reading.reason, reason)
    for (const secret of [S1, S2, 'short-secret']) assert.not.ok(reading.reason.includes(secret), 'a secret in the reason')
  }
})

Keys('property: keys written out read back as themselves, in order', () => {
  const key = fc
    .record({ id: fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), secret: fc.stringMatching(/^[!-~]{32,48}$/) })
    .map((k) => ({ id: k.id, secret: k.secret }))
  fc.assert(
    fc.property(fc.uniqueArray(key, { selector: (k) => k.id, minLength: 1, maxLength: 4 }), (keys) => {
      const reading = parseTokenKeys(keys.map((k) => `${k.id}:${k.secret}`).join('\n'))
      assert.equal(reading, { ok: true, keys })
    }),
    fcParams(),
  )
})

Keys.run()
