import * as assert from 'uvu/assert'
import type { EchoReport } from './backend'
import { send } from './client'
import { CookieModel, peersOf, startAdapter, startBackends, type SuiteContext } from './harness'
import { CookieJar } from './jar'
import { withScope } from './scope'

/** Header passing: the upstream's cookies beside the sticky one, the client's headers intact. */
export function headers(ctx: SuiteContext): void {
  const { test, factory } = ctx

  test('should pass two upstream Set-Cookie headers beside the sticky one, never merged', () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const balancer = { peers: peersOf(backends) }
      const proxy = await startAdapter(scope, factory, { balancer })
      const model = new CookieModel(balancer)
      const jar = new CookieJar()
      const first = await send(proxy.url, { path: '/set-cookies', jar })
      const backend = model.assertPinnedToAnswerer(first, backends)
      const rawLines = (answerRaw: readonly string[]): string[] => answerRaw.filter((_, i) => i % 2 === 1 && answerRaw[i - 1]?.toLowerCase() === 'set-cookie')
      const lines = rawLines(first.rawHeaders)
      assert.is(lines.length, 3, `three separate Set-Cookie lines: ${JSON.stringify(lines)}`)
      assert.ok(lines.includes('up1=a; Path=/'), 'the first upstream cookie, verbatim')
      assert.ok(lines.includes('up2=b; Path=/; HttpOnly'), 'the second upstream cookie, verbatim')
      assert.is(model.setBy(first), model.valueOf(backend))

      const second = await send(proxy.url, { path: '/set-cookies', jar })
      assert.is(second.backend, backend.name)
      const again = rawLines(second.rawHeaders)
      assert.ok(again.includes('up1=a; Path=/') && again.includes('up2=b; Path=/; HttpOnly'), `pinned: ${JSON.stringify(again)}`)
    }))

  test("should forward the client's own headers and cookies to the peer", () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 1)
      const proxy = await startAdapter(scope, factory, { balancer: { peers: peersOf(backends) } })
      const jar = new CookieJar()
      jar.set('session', 'abc123')
      const answer = await send(proxy.url, {
        path: '/headers',
        jar,
        headers: { 'x-custom': 'hello world', accept: 'application/json', 'user-agent': 'conformance' },
      })
      assert.is(answer.status, 200)
      const report = JSON.parse(answer.body.toString('utf8')) as EchoReport
      assert.is(report.headers['x-custom'], 'hello world')
      assert.is(report.headers['accept'], 'application/json')
      assert.is(report.headers['user-agent'], 'conformance')
      assert.match(report.headers['cookie'] ?? '', /session=abc123/, 'the application cookie reaches the peer')
    }))
}
