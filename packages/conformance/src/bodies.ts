import { createHash, randomBytes } from 'node:crypto'
import * as assert from 'uvu/assert'
import type { EchoReport } from './backend'
import { send } from './client'
import { caseIf, peersOf, startAdapter, startBackends, type SuiteContext } from './harness'
import { CookieJar } from './jar'
import { withScope } from './scope'

const MiB = 1024 * 1024

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function parseReport(body: Buffer): EchoReport {
  return JSON.parse(body.toString('utf8')) as EchoReport
}

/** Methods, request and response bodies of every shape, `Expect: 100-continue`. */
export function bodies(ctx: SuiteContext): void {
  const { test, factory } = ctx

  test('should pass every method with its body intact', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const proxy = await startAdapter(scope, factory, { balancer: { peers: peersOf(backends) } })
      const jar = new CookieJar()
      const cases = [
        { method: 'GET', body: undefined },
        { method: 'HEAD', body: undefined },
        { method: 'OPTIONS', body: undefined },
        { method: 'DELETE', body: undefined },
        { method: 'POST', body: randomBytes(1000) },
        { method: 'PUT', body: randomBytes(2000) },
        { method: 'PATCH', body: Buffer.from('{"op":"replace"}') },
        { method: 'POST', body: Buffer.alloc(0) },
      ]
      for (const { method, body } of cases) {
        const path = `/items/42?method=${method}&q=a%20b`
        const answer = await send(proxy.url, { method, path, jar, ...(body === undefined ? {} : { body }) })
        const sent = body ?? Buffer.alloc(0)
        assert.is(answer.status, 200, method)
        assert.is(answer.headers['x-method'], method, `${method} reached the peer as ${method}`)
        assert.is(answer.headers['x-body-length'], String(sent.length), `${method} body length`)
        assert.is(answer.headers['x-body-sha256'], sha256(sent), `${method} body digest`)
        if (method === 'HEAD') {
          assert.is(answer.body.length, 0, 'HEAD has no body')
          continue
        }
        const report = parseReport(answer.body)
        assert.is(report.url, path, `${method} path and query intact`)
      }
    }))

  test('should pass 1 MiB and 10 MiB binary bodies intact both ways', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 1)
      const proxy = await startAdapter(scope, factory, { balancer: { peers: peersOf(backends) } })
      for (const size of [1 * MiB, 10 * MiB]) {
        const body = randomBytes(size)
        const answer = await send(proxy.url, { method: 'POST', path: '/echo', body, jar: new CookieJar() })
        assert.is(answer.status, 200, `${size} bytes`)
        assert.is(answer.body.length, size, `${size} bytes came back`)
        assert.is(sha256(answer.body), sha256(body), `${size} bytes came back unchanged`)
      }
    }))

  caseIf(ctx, 'chunkedRequests', 'should stream a chunked request body of unknown length', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 1)
      const proxy = await startAdapter(scope, factory, { balancer: { peers: peersOf(backends) } })
      const chunks = Array.from({ length: 64 }, (_, i) => randomBytes(1 + ((i * 7919) % 40_000)))
      const whole = Buffer.concat(chunks)
      async function* generate(): AsyncIterable<Uint8Array> {
        for (const chunk of chunks) {
          yield chunk
          await new Promise((resolve) => setImmediate(resolve))
        }
      }
      const answer = await send(proxy.url, { method: 'POST', path: '/report', body: generate, jar: new CookieJar() })
      assert.is(answer.status, 200)
      const report = parseReport(answer.body)
      assert.is(report.length, whole.length)
      assert.is(report.sha256, sha256(whole))
    }),
  )

  caseIf(ctx, 'expectContinue', 'should honour Expect: 100-continue', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 1)
      const proxy = await startAdapter(scope, factory, { balancer: { peers: peersOf(backends) } })
      const body = randomBytes(64 * 1024)
      const answer = await send(proxy.url, { method: 'PUT', path: '/upload', body, expectContinue: true, jar: new CookieJar() })
      assert.ok(answer.continued, 'the client got 100 Continue before sending the body')
      assert.is(answer.status, 200)
      assert.is(answer.headers['x-body-sha256'], sha256(body))
    }),
  )
}
