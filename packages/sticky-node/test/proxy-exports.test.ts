import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as entry from '../src/index'

const exportsSuite = suite('sticky-node exports')

exportsSuite('should export exactly the documented runtime names (adding one is a decision)', () => {
  assert.equal(Object.keys(entry).sort(), ['createHealthChecker', 'createStickyProxy'])
  assert.type(entry.createStickyProxy, 'function')
})

exportsSuite.run()
