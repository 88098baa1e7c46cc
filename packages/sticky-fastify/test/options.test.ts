import { StickyConfigError } from 'sticky-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { stickyProxy } from '../src/index'
import type { StickyFastifyOptions } from '../src/index'
import { createApp } from './_app'

const test = suite('stickyProxy: option validation')

const invalid: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ['peers', { peers: [] }],
  ['retries', { peers: ['127.0.0.1:9'], retries: -1 }],
  ['retries', { peers: ['127.0.0.1:9'], retries: 1.5 }],
  ['timeout', { peers: ['127.0.0.1:9'], timeout: 0 }],
  ['proxy', { peers: ['127.0.0.1:9'], proxy: 'yes' }],
  ['xForwarded', { peers: ['127.0.0.1:9'], xForwarded: 1 }],
  ['prefix', { peers: ['127.0.0.1:9'], prefix: '/users/:id' }],
  ['rewritePrefix', { peers: ['127.0.0.1:9'], rewritePrefix: '/a*' }],
  ['replyFrom.base', { peers: ['127.0.0.1:9'], replyFrom: { base: 'http://127.0.0.1:9' } }],
  ['peers[1].address', { peers: ['127.0.0.1:9', 'unix:/run/app.sock'] }],
]

for (const [option, options] of invalid) {
  test(`should refuse to start with a bad ${option}, naming it`, async () => {
    const app = createApp()
    try {
      await app.register(stickyProxy, options as unknown as StickyFastifyOptions)
      assert.unreachable('the app started')
    } catch (error) {
      assert.instance(error, StickyConfigError)
      if (option !== 'peers') assert.is((error as StickyConfigError).option, option)
    } finally {
      await app.close()
    }
  })
}

test('should start with the defaults', async () => {
  const app = createApp()
  try {
    await app.register(stickyProxy, { peers: ['127.0.0.1:9'] })
    await app.ready()
    assert.ok(app.hasRequestDecorator('sticky'))
    assert.ok(app.hasPlugin('sticky-fastify'))
  } finally {
    await app.close()
  }
})

test.run()
