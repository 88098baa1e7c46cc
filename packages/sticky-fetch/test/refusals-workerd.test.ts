import { connect } from 'node:net'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { echoBackend } from './_servers'
import type { Listening } from './_servers'
import { startWorker } from './_workerd'
import type { RunningWorker } from './_workerd'

const test = suite("requests refused in workerd (sticky-core's requestRefusal)")

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

/** Sends `text` on a fresh connection and reads until the connection closes: the status and the body. */
function exchange(url: string, text: string): Promise<{ status: number; body: string }> {
  const target = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname, () => socket.write(text))
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const received = Buffer.concat(chunks).toString('latin1')
      const [head = '', body = ''] = received.split('\r\n\r\n')
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body })
    })
  })
}

/**
 * What workerd lets reach the handler: a Content-Length with a sign (its listener passes it through,
 * and the body would never end). Two Host, Transfer-Encoding or differing Content-Length lines, and a
 * coding other than chunked, workerd's listener refuses itself (500) before any Worker runs; a
 * Headers object would show the handler one joined value of each.
 */
for (const value of ['-5', '+5']) {
  test(`should refuse Content-Length: ${value} with 400, before any peer sees it`, async () => {
    const backend = await started(echoBackend('b'))
    const worker = await started(startWorker({ MODE: 'options', OPTIONS: { peers: [backend.address] } }))
    const answer = await exchange(worker.url, `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${value}\r\nConnection: close\r\n\r\nhello`)
    assert.equal(answer, { status: 400, body: 'Bad Request: invalid Content-Length\n' })
    assert.is(backend.connections(), 0)
    const fine = await exchange(worker.url, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')
    assert.is(fine.status, 200)
  })
}

test.run()
