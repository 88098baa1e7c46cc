import * as assert from 'uvu/assert'
import { EARLY_413_BODY, type Backend } from './backend'
import { startUpload } from './client'
import { assertStaysOn, caseIf, CookieModel, peersOf, startAdapter, startBackends, type SuiteContext } from './harness'
import { CookieJar } from './jar'
import { withScope } from './scope'

const MiB = 1024 * 1024
const UPLOAD = 8 * MiB
const CHUNK = Buffer.alloc(64 * 1024, 0x61)

/**
 * Uploads `UPLOAD` bytes to the pinned peer's `/early-413`, which refuses with 413 and closes the
 * connection without reading a byte of the body. The client keeps sending until the answer's head
 * arrives, then stops (RFC 9112 section 9.6), as browsers do.
 */
function earlyAnswerCase(ctx: SuiteContext, chunked: boolean): () => Promise<void> {
  return () =>
    withScope(async (scope) => {
      const backends = await startBackends(scope, 2)
      const [target, other] = backends as [Backend, Backend]
      // One wrong blame would take the peer out for the rest of the case.
      const balancer = { peers: peersOf(backends, { maxFails: 1, failTimeout: 30_000 }) }
      const proxy = await startAdapter(scope, ctx.factory, { balancer })
      const model = new CookieModel(balancer)
      const jar = new CookieJar()
      jar.set(model.name, model.valueOf(target))
      const upload = scope.defer(startUpload(proxy.url, { method: 'POST', path: '/early-413', jar, ...(chunked ? {} : { contentLength: UPLOAD }) }), (u) =>
        u.abort(),
      )
      for (let sent = 0; sent < UPLOAD; sent += CHUNK.length) if (!(await upload.write(CHUNK))) break
      upload.end()
      const answer = await upload.answer.catch((error: Error) => {
        throw new Error(`the client got no answer to its upload: ${error.message}`)
      })
      upload.abort()
      assert.is(answer.status, 413, `the peer's 413 reaches the client (got ${answer.status}: ${answer.body.toString('utf8').slice(0, 200)})`)
      assert.is(answer.backend, target.name, 'the 413 comes from the pinned peer')
      assert.is(other.requests, 0, 'the upload was not sent to another peer')
      const body = answer.body.toString('utf8')
      if (body === '' && ctx.capabilities.limits['early-answer-lost-to-reset'] !== undefined) {
        // The runtime lost the race with the peer's reset: the 413 arrived, its body did not.
        console.log(`[${ctx.name}] runtime limit: the early 413's body was lost to the peer's reset (${chunked ? 'chunked' : 'Content-Length'} upload)`)
        return
      }
      assert.is(body, EARLY_413_BODY, "the 413's body reaches the client whole")
      await assertStaysOn(proxy.url, model, target, 'after the early 413')
    })
}

/**
 * A peer that answers before it has read the request body (a 413 refusing an upload) has answered:
 * the answer is relayed, not turned into a 502, and the peer is not blamed (sticky-core
 * `attempt.ts`, `peer-answered-early`).
 */
export function earlyAnswers(ctx: SuiteContext): void {
  ctx.test('should relay an early 413 to a client still uploading a Content-Length body, and keep the peer', earlyAnswerCase(ctx, false))
  caseIf(ctx, 'chunkedRequests', 'should relay an early 413 to a client still uploading a chunked body, and keep the peer', earlyAnswerCase(ctx, true))
}
