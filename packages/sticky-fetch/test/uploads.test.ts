import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createStickyFetch } from '../src/index'
import { clientRequest, endlessBody, onRequestHead, pinnedTo, rawPeer, scriptedBody, signalled } from './_client'
import { request as httpRequest } from 'node:http'
import { closeAfterEach, echoBackend, listen, readBody, serveFetch } from './_servers'

/** Request bodies: the deadline measures the peer's silence only, and early answers are relayed. */
const test = suite('createStickyFetch: uploads')
const started = closeAfterEach(test)

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

test('should not time out a peer while the client is slow to send its body', async () => {
  // A proxy that gave up aborts the upload: the peer's read then fails, which is no error of the test's.
  const peer = await started(
    listen(
      (req, res) =>
        void readBody(req).then(
          (text) => res.end(text),
          () => undefined,
        ),
    ),
  )
  const other = await started(echoBackend('other'))
  const handler = createStickyFetch({ peers: [peer.address, other.address], proxy: { timeout: 100 } })
  const cookie = pinnedTo(handler, peer)
  const body = scriptedBody()
  const answer = handler(clientRequest('/', { method: 'POST', headers: { cookie }, body: body.stream, duplex: 'half' }))
  body.send('first ')
  // The client pauses for three windows: the peer has read all it was given and waits on the client.
  await sleep(300)
  body.send('last')
  body.end()
  const response = await answer
  assert.is(response.status, 200)
  assert.is(await response.text(), 'first last')
  assert.is(handler.balancer.decide(cookie).outcome, 'hit', 'a slow upload is not the peer’s silence')
})

test('should time out and blame a peer that stops reading the body', async () => {
  const peer = await started(rawPeer((socket) => socket.pause()))
  const other = await started(echoBackend('other'))
  const handler = createStickyFetch({ peers: [peer.address, other.address], proxy: { timeout: 100 } })
  const cookie = pinnedTo(handler, peer)
  const response = await handler(clientRequest('/', { method: 'PUT', headers: { cookie }, body: endlessBody(), duplex: 'half' }))
  assert.is(response.status, 504)
  assert.is(other.connections(), 0, 'a peer that went silent is not retried elsewhere')
  assert.is(handler.balancer.decide(cookie).outcome, 'repinned', 'peer-silent blames the peer')
})

test('should time out and blame a peer that reads the whole body and never answers', async () => {
  const peer = await started(rawPeer((socket) => socket.resume()))
  const handler = createStickyFetch({ peers: [peer.address], proxy: { timeout: 100 } })
  const body = scriptedBody()
  const answer = handler(clientRequest('/', { method: 'POST', body: body.stream, duplex: 'half' }))
  body.send('all of it')
  body.end()
  assert.is((await answer).status, 504)
})

const EARLY = 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 15\r\n\r\nupload refused\n'

test("should relay a peer's early 413 while the upload still arrives, and not blame it for what follows", async () => {
  const peer = await started(
    rawPeer((socket) =>
      onRequestHead(socket, () => {
        socket.write(EARLY)
        socket.destroy()
      }),
    ),
  )
  const other = await started(echoBackend('other'))
  const handler = createStickyFetch({ peers: [peer.address, other.address], proxy: { timeout: 0 } })
  const cookie = pinnedTo(handler, peer)
  const body = scriptedBody()
  const answer = handler(clientRequest('/', { method: 'PUT', headers: { cookie }, body: body.stream, duplex: 'half' }))
  body.send('x'.repeat(64 * 1024))
  const response = await answer
  assert.is(response.status, 413)
  assert.is(await response.text(), 'upload refused\n')
  // The client then gives up its upload: its body fails after the answer.
  body.fail(new Error('client aborted'))
  await sleep(0)
  assert.is(other.connections(), 0, 'an answered upload is never sent to another peer')
  assert.is(handler.balancer.decide(cookie).outcome, 'hit', 'an early answer is a success of the peer')
})

test('should answer 502 without blaming the peer when it resets an upload under way without answering', async () => {
  // A peer that refuses an upload and closes unread, whose reset took any answer with it (RFC 9112
  // section 9.6): the client's upload is what it closed on, so counting it would let clients take peers out.
  let seen = 0
  const peer = await started(
    rawPeer((socket) =>
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.length
        if (seen >= 1024) socket.resetAndDestroy()
      }),
    ),
  )
  const other = await started(echoBackend('other'))
  const handler = createStickyFetch({ peers: [{ address: peer.address, maxFails: 1 }, other.address], proxy: { timeout: 0 } })
  const cookie = pinnedTo(handler, peer)
  const body = scriptedBody()
  const answer = handler(clientRequest('/', { method: 'POST', headers: { cookie }, body: body.stream, duplex: 'half' }))
  body.send('x'.repeat(64 * 1024))
  const response = await answer
  assert.is(response.status, 502)
  assert.is(other.connections(), 0, 'a streamed body is not replayed')
  assert.is(handler.balancer.decide(cookie).outcome, 'hit', 'the reset during the upload is not counted against the peer')
  body.fail(new Error('client gave up'))
})

test('should relay the early 413 to a client uploading as fast as the connection takes it', async () => {
  // The peer closes with the upload unread, so its kernel resets the connection under the next write.
  const peer = await started(
    listen((_req, res) => {
      res.writeHead(413, { connection: 'close', 'content-length': '15' })
      res.end('upload refused\n')
    }),
  )
  const other = await started(echoBackend('other'))
  const handler = createStickyFetch({ peers: [peer.address, other.address] })
  const cookie = pinnedTo(handler, peer)
  const proxy = await started(serveFetch(handler))
  // The guard keeps the case from hanging (or the process from quietly running out of work) when no answer comes.
  const guard = signalled<never>('an answer to the upload', 10_000)
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    guard.done.catch(reject)
    const upload = httpRequest(proxy.url, { method: 'POST', headers: { cookie, 'content-length': String(8 << 20) }, agent: false })
    let answered = false
    upload.on('error', (error) => {
      if (answered) return
      guard.signal(undefined as never)
      reject(error)
    })
    upload.on('response', (res) => {
      answered = true
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk.toString('latin1')))
      res.on('end', () => {
        guard.signal(undefined as never)
        resolve({ status: res.statusCode ?? 0, body })
        upload.destroy()
      })
    })
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    const pump = (): void => {
      while (!answered && !upload.destroyed && upload.write(chunk)) {
        // as fast as the connection takes it
      }
      if (!answered && !upload.destroyed) upload.once('drain', pump)
    }
    pump()
  })
  assert.equal(answer, { status: 413, body: 'upload refused\n' })
  assert.is(other.connections(), 0)
  assert.is(handler.balancer.decide(cookie).outcome, 'hit')
})

test('should stop taking the body from the client once the peer answered and says it closes', async () => {
  // RFC 9112 section 9.6: the peer refused the body and closes; sending on only meets its reset.
  let finish!: () => void
  const peer = await started(
    rawPeer((socket) =>
      onRequestHead(socket, () => {
        socket.write('HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 15\r\n\r\nupload ')
        finish = () => socket.end('refused\n')
      }),
    ),
  )
  const handler = createStickyFetch({ peers: [peer.address], proxy: { timeout: 0 } })
  const body = scriptedBody()
  const answer = handler(clientRequest('/', { method: 'POST', body: body.stream, duplex: 'half' }))
  body.send('head of a long upload')
  const response = await answer
  assert.is(response.status, 413)
  const pulls = body.pulls()
  for (let i = 0; i < 4; i += 1) {
    body.send('more')
    await sleep(10)
  }
  assert.is(body.pulls(), pulls, 'the client is not asked for more of an upload the peer refused')
  finish()
  assert.is(await response.text(), 'upload refused\n')
})

test.run()
