import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { send, withScope } from 'sticky-conformance'
import { StickyConfigError } from 'sticky-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { stickyProxy } from '../src/index'
import type { StickyFastifyOptions } from '../src/index'
import { createApp, listen } from './_app'

const test = suite('stickyProxy: option validation')

const invalid: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ['peers', { peers: [] }],
  ['retries', { peers: ['127.0.0.1:9'], retries: -1 }],
  ['retries', { peers: ['127.0.0.1:9'], retries: 1.5 }],
  ['timeout', { peers: ['127.0.0.1:9'], timeout: -1 }],
  ['timeout', { peers: ['127.0.0.1:9'], timeout: Number.POSITIVE_INFINITY }],
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

test('should read timeout 0 as no limit: a peer that answers late is still relayed', () =>
  withScope(async (scope) => {
    const late = createServer((req, res) => {
      req.resume()
      setTimeout(() => res.end('late'), 150)
    })
    await new Promise<void>((resolve) => late.listen(0, '127.0.0.1', resolve))
    scope.defer(late, (server) => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    })
    const app = scope.defer(createApp(), (a) => a.close())
    await app.register(stickyProxy, { peers: [`127.0.0.1:${(late.address() as AddressInfo).port}`], timeout: 0 })
    const answer = await send(await listen(app))
    assert.is(answer.status, 200)
    assert.is(answer.body.toString(), 'late')
  }))

test.run()
