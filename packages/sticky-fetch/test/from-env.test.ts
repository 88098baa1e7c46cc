import { StickyConfigError } from 'sticky-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createStickyFetchFromEnv } from '../src/index'
import { closeAfterEach, echoBackend, resettingBackend } from './_servers'
import type { Echo } from './_servers'

const test = suite('createStickyFetchFromEnv')

const started = closeAfterEach(test)

const request = (): Request => new Request('https://shop.example/')

async function rejection(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run()
  } catch (error) {
    return error
  }
  return assert.unreachable('expected a rejection')
}

test('should build the balancer once per env object, so failures are remembered between requests', async () => {
  const broken = await started(resettingBackend())
  const live = await started(echoBackend('live'))
  const handler = createStickyFetchFromEnv()
  const env = { STICKY_PEERS: `${broken.url}, ${live.url}` }
  for (let i = 0; i < 4; i += 1) assert.is((await handler(request(), env)).status, 200)
  assert.is(broken.connections(), 1, 'one balancer saw the failure and skipped the peer afterwards')

  // An equal but distinct env object is a new isolate's: its balancer has not seen the failure.
  assert.is((await handler(request(), { ...env })).status, 200)
  assert.is(broken.connections(), 2)
})

test('should read the STICKY_* variables', async () => {
  const live = await started(echoBackend('live'))
  const handler = createStickyFetchFromEnv()
  const response = await handler(request(), { STICKY_PEERS: live.url, STICKY_COOKIE_NAME: 'srv', STICKY_HASH: 'raw', STICKY_X_FORWARDED: 'off' })
  assert.equal(response.headers.getSetCookie(), [`srv=${live.address}; Path=/`])
  const echo = (await response.json()) as Echo
  assert.is(echo.headers['x-forwarded-proto'], undefined)
})

test('should apply configure to the options read from env', async () => {
  const live = await started(echoBackend('live'))
  // A Worker's Env is an interface without an index signature: it must still type-check.
  interface Env {
    readonly STICKY_PEERS: string
    readonly APP_COOKIE: string
  }
  const handler = createStickyFetchFromEnv<Env>({
    configure: (options, env) => ({ ...options, cookie: { name: env.APP_COOKIE } }),
  })
  const response = await handler(request(), { STICKY_PEERS: live.url, APP_COOKIE: 'app' })
  assert.match(response.headers.getSetCookie()[0] ?? '', /^app=/)
})

const broken: ReadonlyArray<{ env: Record<string, unknown>; option: string }> = [
  { env: {}, option: 'STICKY_PEERS' },
  { env: { STICKY_PEERS: 'http://127.0.0.1:1', STICKY_TIMEOUT: 'soon' }, option: 'STICKY_TIMEOUT' },
  { env: { STICKY_PEERS: 'http://127.0.0.1:1', STICKY_COOKIE_NAME: 'bad name' }, option: 'cookie.name' },
]
for (const { env, option } of broken) {
  test(`should reject every request of an env with a bad ${option} with a StickyConfigError`, async () => {
    const handler = createStickyFetchFromEnv()
    for (let i = 0; i < 2; i += 1) {
      const error = await rejection(() => handler(request(), env))
      assert.instance(error, StickyConfigError)
      assert.is((error as StickyConfigError).option, option)
    }
  })
}

test('should reject a call without an env object', async () => {
  const handler = createStickyFetchFromEnv()
  const error = await rejection(() => handler(request()))
  assert.instance(error, TypeError)
  assert.match((error as Error).message, /env/)
})

test.run()
