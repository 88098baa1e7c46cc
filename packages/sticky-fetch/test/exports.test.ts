import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as api from '../src/index'

test('should export exactly the public runtime API (adding one is a decision)', () => {
  assert.equal(Object.keys(api).sort(), [
    'createStickyFetch',
    'createStickyFetchFromEnv',
    'getSetCookies',
    'optionsFromEnv',
    'parsePeerEntry',
    'splitSetCookie',
  ])
})

test.run()
