import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { send, withScope } from 'sticky-conformance'
import { createBalancer, StickyConfigError } from 'sticky-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { stickyProxy } from '../src/index'
import type { StickyFastifyOptions } from '../src/index'
import { createApp, listen } from './_app'

const test = suite('stickyProxy: option validation')

const invalid: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ['peers', { peers: [] }],
  ['proxy.retries', { peers: ['127.0.0.1:9'], proxy: { retries: -1 } }],
  ['proxy.retries', { peers: ['127.0.0.1:9'], proxy: { retries: 1.5 } }],
  ['proxy.timeout', { peers: ['127.0.0.1:9'], proxy: { timeout: -1 } }],
  ['proxy.timeout', { peers: ['127.0.0.1:9'], proxy: { timeout: Number.POSITIVE_INFINITY } }],
  ['proxy.timeout', { peers: ['127.0.0.1:9'], proxy: { timeout: '30' } }],
  ['proxy', { peers: ['127.0.0.1:9'], proxy: true }],
  ['proxy.xForwarded', { peers: ['127.0.0.1:9'], proxy: { xForwarded: 1 } }],
  ['proxy.bogus', { peers: ['127.0.0.1:9'], proxy: { bogus: 1 } }],
  ['forward', { peers: ['127.0.0.1:9'], forward: 'yes' }],
  ['timeout', { peers: ['127.0.0.1:9'], timeout: 5000 }],
  ['retries', { peers: ['127.0.0.1:9'], retries: 1 }],
  ['xForwarded', { peers: ['127.0.0.1:9'], xForwarded: false }],
  ['cookei', { peers: ['127.0.0.1:9'], cookei: { name: 'r' } }],
  ['cookie.expire', { peers: ['127.0.0.1:9'], cookie: { expire: 60 } }],
  ['peers[0].wieght', { peers: [{ address: '127.0.0.1:9', wieght: 2 }] }],
  ['cookie', { balancer: createBalancer({ peers: ['127.0.0.1:9'] }), cookie: { name: 'r' } }],
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

test("should start with Fastify's own register options beside the plugin's", async () => {
  const app = createApp()
  try {
    await app.register(stickyProxy, { peers: ['127.0.0.1:9'], logLevel: 'warn', proxy: { timeout: '30s', xForwarded: { host: false } } })
    await app.ready()
  } finally {
    await app.close()
  }
})

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
    await app.register(stickyProxy, { peers: [`127.0.0.1:${(late.address() as AddressInfo).port}`], proxy: { timeout: 0 } })
    const answer = await send(await listen(app))
    assert.is(answer.status, 200)
    assert.is(answer.body.toString(), 'late')
  }))

test.run()
