import { createServer, request } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
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

test.run()
