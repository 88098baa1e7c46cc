import { createServer, request } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import { withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { stickyProxy } from '../src/index'
import type { ReplyFromOptions } from '../src/index'
import { createApp, listen } from './_app'
import { recordingBalancer } from './_balancer'

const test = suite('stickyProxy: a peer that answers before the upload is over')

const UPLOAD = 8 * 1024 * 1024

interface Early {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/**
 * Uploads `UPLOAD` bytes and resolves with the answer. The client's own write may fail once the
 * proxy closed the connection after answering: only a failure before the answer counts.
 */
function upload(url: string, chunked: boolean): Promise<Early> {
  return new Promise((resolve, reject) => {
    const headers = chunked ? {} : { 'content-length': String(UPLOAD) }
    let answered = false
    const req = request(`${url}/upload`, { method: 'POST', headers, agent: false }, (res) => {
      answered = true
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }))
    })
    req.on('error', (error) => {
      if (!answered) reject(error)
    })
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    let sent = 0
    const pump = (): void => {
      while (sent < UPLOAD && !answered && !req.destroyed) {
        sent += chunk.length
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      req.end()
    }
    pump()
  })
}

const transports: ReadonlyArray<readonly [string, ReplyFromOptions]> = [
  ['undici', {}],
  ['node:http', { http: {} }],
]

for (const [transport, replyFrom] of transports) {
  for (const chunked of [false, true]) {
    test(`should relay a 413 the peer sends, with Connection: close, before reading a ${chunked ? 'chunked' : 'Content-Length'} upload, and credit the peer (${transport})`, () =>
      withScope(async (scope) => {
        const peer = createServer((_req, res) => {
          res.writeHead(413, { connection: 'close', 'content-type': 'text/plain' })
          res.end('too large')
        })
        await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', () => resolve()))
        scope.defer(peer, (s) => {
          s.closeAllConnections()
          return new Promise<void>((resolve) => s.close(() => resolve()))
        })
        const address = `127.0.0.1:${(peer.address() as AddressInfo).port}`
        const { balancer, reports } = recordingBalancer({ peers: [address] })
        const app = scope.defer(createApp(), (a) => a.close())
        await app.register(stickyProxy, { balancer, replyFrom })
        const url = await listen(app)
        // Several rounds: the 413 must win the race against the failing write every time.
        for (let round = 0; round < 5; round += 1) {
          const answer = await upload(url, chunked)
          assert.is(answer.status, 413, `round ${round}`)
          assert.is(answer.body, 'too large', `round ${round}`)
          assert.is(answer.headers['connection'], 'close', 'the half-read upload ends the client connection')
        }
        assert.ok(reports.length === 5 && reports.every(([, ok]) => ok), JSON.stringify(reports))
      }))
  }
}

/**
 * A peer that reads the first kilobyte of an upload, then answers a complete 413 or nothing, and closes
 * at once with the rest unread, so that its kernel resets the connection (what Python's http.server
 * and any server that closes without lingering do, RFC 9112 section 9.6).
 */
function resettingPeer(answer: boolean): ReturnType<typeof createNetServer> {
  return createNetServer((socket: Socket) => {
    let seen = 0
    let done = false
    socket.on('error', () => undefined)
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.length
      if (done || seen < 1024) return
      done = true
      if (!answer) return void socket.resetAndDestroy()
      socket.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large', () => socket.destroy())
    })
  })
}

for (const [transport, replyFrom] of transports) {
  for (const answer of [false, true]) {
    test(`should never blame a peer that resets an upload it did not read${answer ? ' after a 413' : ''} (${transport})`, () =>
      withScope(async (scope) => {
        const peer = resettingPeer(answer)
        await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', () => resolve()))
        scope.defer(peer, (s) => new Promise<void>((resolve) => s.close(() => resolve())))
        const address = `127.0.0.1:${(peer.address() as AddressInfo).port}`
        const { balancer, reports } = recordingBalancer({ peers: [address] })
        const app = scope.defer(createApp(), (a) => a.close())
        await app.register(stickyProxy, { balancer, replyFrom })
        const url = await listen(app)
        for (let round = 0; round < 4; round += 1) {
          const reply = await upload(url, false)
          // The 413 is relayed when the transport read it before the reset; otherwise the reset took it.
          if (answer) assert.ok(reply.status === 413 || reply.status === 502, `round ${round}: ${reply.status}`)
          else assert.is(reply.status, 502, `round ${round}`)
        }
        assert.not.ok(
          reports.some(([, ok]) => !ok),
          JSON.stringify(reports),
        )
      }))
  }
}

test.run()
