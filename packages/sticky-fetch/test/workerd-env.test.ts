import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { echoBackend, resettingBackend } from './_servers'
import type { Echo, Listening } from './_servers'
import { startWorker } from './_workerd'
import type { RunningWorker } from './_workerd'

const test = suite('createStickyFetchFromEnv in workerd')

let running: Array<Listening | RunningWorker> = []
test.after.each(async () => {
  await Promise.all(running.map((r) => r.close()))
  running = []
})
async function started<T extends Listening | RunningWorker>(thing: Promise<T>): Promise<T> {
  const t = await thing
  running.push(t)
  return t
}

test('should keep one balancer per isolate: a failed peer is skipped by later requests', async () => {
  const broken = await started(resettingBackend())
  const live = await started(echoBackend('live'))
  const worker = await started(startWorker({ MODE: 'env', STICKY_PEERS: `${broken.url}, ${live.url}`, STICKY_COOKIE_NAME: 'srv' }))
  for (let i = 0; i < 4; i += 1) {
    const response = await fetch(`${worker.url}/page?n=${i}`)
    assert.is(response.status, 200)
    const echo = (await response.json()) as Echo
    assert.is(echo.url, `/page?n=${i}`)
    assert.is(echo.headers['x-forwarded-for'], '127.0.0.1', 'from CF-Connecting-IP')
  }
  assert.is(broken.connections(), 1, 'only the first request met the broken peer')
})

test('should pin with the cookie the env configures (STICKY_PEERS as an array)', async () => {
  const live = await started(echoBackend('live'))
  const worker = await started(startWorker({ MODE: 'env', STICKY_PEERS: [live.url], STICKY_HASH: 'raw' }))
  const response = await fetch(worker.url, { redirect: 'manual' })
  assert.equal(response.headers.getSetCookie(), [`route=${live.address}; Path=/`])
  await response.arrayBuffer()
})

test('should answer 500 without describing the configuration when env is invalid', async () => {
  const worker = await started(startWorker({ MODE: 'env', STICKY_PEERS: 'http://127.0.0.1:1', STICKY_HMAC_KEY: 'top-secret', STICKY_HMAC: 'crc' }))
  const response = await fetch(worker.url)
  assert.is(response.status, 500)
  assert.not.match(await response.text(), /top-secret/)
})

test.run()
