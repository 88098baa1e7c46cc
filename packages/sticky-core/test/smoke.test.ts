import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { StickyConfigError } from '../src/index'

test('should be a TypeError', () => {
  assert.instance(new StickyConfigError('a', 1, 'b'), TypeError)
})
test.run()
