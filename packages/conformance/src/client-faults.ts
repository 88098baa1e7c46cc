import { createHash, randomBytes } from 'node:crypto'
import * as assert from 'uvu/assert'
import type { Backend } from './backend'
import { abandonDownload, startUpload } from './client'
import { assertStaysOn, CookieModel, peersOf, startAdapter, startBackends, type SuiteContext } from './harness'
import { CookieJar } from './jar'
import { sleep, waitFor } from './ports'
import type { Scope } from './scope'
import { withScope } from './scope'
import type { AdapterOptions, RunningProxy } from './types'

const MiB = 1024 * 1024

/** One failure is enough to take the peer out, and it would stay out for the rest of the case. */
const STRICT = { maxFails: 1, failTimeout: 30_000 }

interface Fixture {
  readonly proxy: RunningProxy
  readonly model: CookieModel
  /** The peer every client of the case is pinned to. */
  readonly target: Backend
  readonly other: Backend
}

async function fixture(scope: Scope, ctx: SuiteContext, options: Omit<AdapterOptions, 'balancer'> = {}): Promise<Fixture> {
  const backends = await startBackends(scope, 2)
  const [target, other] = backends as [Backend, Backend]
  const balancer = { peers: peersOf(backends, STRICT) }
  const proxy = await startAdapter(scope, ctx.factory, { balancer, ...options })
  // No request before the misbehaving one: it goes on a fresh connection to the peer, where what
  // fails is not mistaken for a kept-alive connection the peer closed (which blames nobody anyway).
  return { proxy, model: new CookieModel(balancer), target, other }
}

function pinnedTo(model: CookieModel, backend: Backend): CookieJar {
  const jar = new CookieJar()
  jar.set(model.name, model.valueOf(backend))
  return jar
}

/** Waits until no exchange is in flight at `backend`: the proxy has finished with the one the client left. */
function settled(backend: Backend, what: string): Promise<void> {
  return waitFor(() => backend.closed === backend.requests, what)
}

/**
 * A client that leaves, or uploads slowly, is never the peer's fault (sticky-core `attempt.ts`:
 * `client-gone` and `client-body-failed` blame nobody; `peer-silent` is the peer's silence only).
 * With `maxFails: 1` and a long `failTimeout`, one wrong blame would send the peer's clients
 * elsewhere for the rest of the case.
 */
export function clientFaults(ctx: SuiteContext): void {
  const { test } = ctx

  test('should end the upstream request and not blame the peer when the client aborts mid-upload', () =>
    withScope(async (scope) => {
      const { proxy, model, target, other } = await fixture(scope, ctx)
      const before = target.requests
      const upload = scope.defer(startUpload(proxy.url, { method: 'POST', path: '/report', jar: pinnedTo(model, target), contentLength: 8 * MiB }), (u) =>
        u.abort(),
      )
      // One MiB of the eight: the proxy streams it on while the client is still connected.
      void upload.write(randomBytes(MiB))
      await waitFor(() => target.requests > before, 'the upload reaches the pinned peer while the client is still sending (bodies are streamed)')
      upload.abort()
      await settled(target, 'the proxy ends the upstream request the client left')
      assert.is(other.requests, 0, 'the upload was not sent to another peer')
      await assertStaysOn(proxy.url, model, target, 'after the client aborted its upload')
    }))

  test('should not blame the peer when the client aborts mid-download', () =>
    withScope(async (scope) => {
      const { proxy, model, target } = await fixture(scope, ctx)
      const left = await abandonDownload(proxy.url, { path: '/slow-body', jar: pinnedTo(model, target) })
      assert.is(left.status, 200, 'the download started')
      assert.is(left.backend, target.name, 'the download came from the pinned peer')
      await settled(target, 'the download the client left is over at the peer')
      await assertStaysOn(proxy.url, model, target, 'after the client aborted its download')
    }))

  test('should complete a slow upload whose pauses exceed the timeout, and not blame the peer', () =>
    withScope(async (scope) => {
      const timeoutMs = 300
      const { proxy, model, target } = await fixture(scope, ctx, { timeoutMs })
      const chunks = Array.from({ length: 4 }, () => randomBytes(4 * 1024))
      const whole = Buffer.concat(chunks)
      const upload = scope.defer(startUpload(proxy.url, { method: 'POST', path: '/report', jar: pinnedTo(model, target), contentLength: whole.length }), (u) =>
        u.abort(),
      )
      for (const chunk of chunks) {
        // The client, not the peer, is silent here: the proxy waits on the client.
        await sleep(timeoutMs + 200)
        if (!(await upload.write(chunk))) break
      }
      upload.end()
      const answer = await upload.answer
      assert.is(answer.status, 200, `the slow upload completes (got ${answer.status}: ${answer.body.toString('utf8').slice(0, 200)})`)
      assert.is(answer.backend, target.name)
      assert.is(answer.headers['x-body-length'], String(whole.length), 'the whole body reached the peer')
      assert.is(answer.headers['x-body-sha256'], createHash('sha256').update(whole).digest('hex'), 'the body reached the peer intact')
      await assertStaysOn(proxy.url, model, target, 'after the slow upload')
    }))
}
