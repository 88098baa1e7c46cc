import { createHash } from 'node:crypto'
import { request, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { deadPort, withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { ProxyResponseEvent } from '../src/proxy'
import { listenProxy } from './_server'
import { EventLog, fetchOnce, httpUpstream, once, rawUpstream } from './_upstream'

/** How an exchange ended for the client: completely, cut short, or with no response at all. */
interface Ending {
  readonly status: number
  readonly complete: boolean
  readonly bytes: number
  readonly error: string | undefined
}

function fetchEnding(url: string, guardMs = 10_000): Promise<Ending> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false })
    const guard = setTimeout(() => reject(new Error('guard: the client hangs')), guardMs)
    const done = (ending: Ending): void => {
      clearTimeout(guard)
      resolve(ending)
    }
    req.on('error', (e: Error) => done({ status: 0, complete: false, bytes: 0, error: e.message }))
    req.on('response', (res: IncomingMessage) => {
      let bytes = 0
      res.on('data', (c: Buffer) => (bytes += c.length))
      res.on('error', () => undefined)
      res.on('close', () => done({ status: res.statusCode ?? 0, complete: res.complete, bytes, error: undefined }))
    })
    req.end()
  })
}

/** An upstream that reports what it received: method, byte count and digest. */
function counting(): ReturnType<typeof httpUpstream> {
  return httpUpstream((req, res) => {
    const hash = createHash('sha256')
    let length = 0
    req.on('data', (c: Buffer) => {
      length += c.length
      hash.update(c)
    })
    req.on('end', () => res.end(JSON.stringify({ backend: 'live', method: req.method, length, sha256: hash.digest('hex') })))
  })
}

const failures = suite('createStickyProxy: upstream failures')

failures('should abort the client response when the peer dies mid-body, and keep serving', () =>
  withScope(async (scope) => {
    const up = scope.defer(
      await httpUpstream((req, res) => {
        req.resume()
        if (req.url !== '/kill') return void res.end('fine')
        res.writeHead(200, { 'content-length': '100000' })
        res.write(Buffer.alloc(1000))
        setTimeout(() => res.socket?.destroy(), 20)
      }),
      (u) => u.close(),
    )
    const log = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(await listenProxy({ peers: [up.address], onResponse: log.push }), (p) => p.close())
    const cut = await fetchEnding(`${proxy.url}/kill`)
    assert.is(cut.status, 200)
    assert.not.ok(cut.complete, 'the client sees an aborted response')
    assert.ok(cut.bytes < 100_000)
    const next = await fetchOnce(`${proxy.url}/next`)
    assert.is(next.status, 200)
    assert.is(next.body.toString(), 'fine')
    assert.is((await log.first(1))[0]?.error, 'upstream-aborted')
  }),
)

failures('should answer 504 when the peer never answers, and abort the upstream request', () =>
  withScope(async (scope) => {
    let upstreamClosed: Promise<unknown> = Promise.resolve()
    const up = scope.defer(
      await httpUpstream((req) => {
        req.resume()
        upstreamClosed = once(req.socket, 'close')
      }),
      (u) => u.close(),
    )
    const log = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(await listenProxy({ peers: [up.address], proxy: { timeout: 200 }, onResponse: log.push }), (p) => p.close())
    const answer = await fetchOnce(proxy.url)
    assert.is(answer.status, 504)
    assert.match(answer.body.toString(), /^504 Gateway Timeout/)
    await upstreamClosed
    assert.is((await log.first(1))[0]?.error, 'timeout')
    assert.is((await log.first(1))[0]?.attempts, 1, 'a request that reached the peer is not retried after a timeout')
  }),
)

failures('should abort the client response when the peer stalls mid-body past the timeout', () =>
  withScope(async (scope) => {
    const up = scope.defer(
      await httpUpstream((req, res) => {
        req.resume()
        res.writeHead(200, { 'content-length': '10' })
        res.write('12345')
      }),
      (u) => u.close(),
    )
    const log = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(await listenProxy({ peers: [up.address], proxy: { timeout: 200 }, onResponse: log.push }), (p) => p.close())
    const cut = await fetchEnding(proxy.url)
    assert.is(cut.status, 200)
    assert.not.ok(cut.complete)
    assert.is(cut.bytes, 5)
    assert.is((await log.first(1))[0]?.error, 'timeout')
  }),
)

failures('should deliver an early answer to an upload the peer refused to read', () =>
  withScope(async (scope) => {
    const up = scope.defer(
      await httpUpstream((_req, res) => {
        res.writeHead(413, { 'content-type': 'text/plain' })
        res.end('too large')
      }),
      (u) => u.close(),
    )
    const proxy = scope.defer(await listenProxy({ peers: [up.address] }), (p) => p.close())
    for (let i = 0; i < 5; i += 1) {
      const answer = await fetchOnce(proxy.url, { method: 'POST', body: Buffer.alloc(8 * 1024 * 1024, 1) })
      assert.is(answer.status, 413)
      assert.is(answer.body.toString(), 'too large')
    }
  }),
)

/**
 * A peer that reads the first kilobyte of an upload, then either answers a complete 413 or nothing, and
 * closes at once with the rest unread: its kernel resets the connection (what Python's http.server and
 * any server that closes without lingering do, RFC 9112 section 9.6).
 */
function refusingPeer(answer: boolean): Promise<Awaited<ReturnType<typeof rawUpstream>>> {
  return rawUpstream((socket) => {
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

failures('should relay a 413 the peer sent before resetting an upload it did not read, and not blame the peer', () =>
  withScope(async (scope) => {
    const up = scope.defer(await refusingPeer(true), (u) => u.close())
    const log = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(await listenProxy({ peers: [{ address: up.address, maxFails: 1 }], onResponse: log.push }), (p) => p.close())
    for (let i = 0; i < 5; i += 1) {
      const answer = await fetchOnce(proxy.url, { method: 'POST', body: Buffer.alloc(4 * 1024 * 1024, 1) })
      assert.is(answer.status, 413, `upload ${i}`)
      assert.is(answer.body.toString(), 'too large')
    }
    const peer = proxy.proxy.balancer.peers[0]
    assert.ok(peer !== undefined && proxy.proxy.balancer.isUsable(peer), 'the peer is still usable (max_fails=1)')
    assert.equal(
      (await log.first(5)).map((e) => e.status),
      [413, 413, 413, 413, 413],
    )
  }),
)

failures('should answer 502 without blaming the peer when it resets an upload without answering', () =>
  withScope(async (scope) => {
    const up = scope.defer(await refusingPeer(false), (u) => u.close())
    const log = new EventLog<ProxyResponseEvent>()
    const attempts: string[] = []
    const proxy = scope.defer(
      await listenProxy({ peers: [{ address: up.address, maxFails: 1 }], onResponse: log.push, onAttempt: (record) => attempts.push(record.event) }),
      (p) => p.close(),
    )
    for (let i = 0; i < 3; i += 1) {
      const answer = await fetchOnce(proxy.url, { method: 'POST', body: Buffer.alloc(4 * 1024 * 1024, 1) })
      assert.is(answer.status, 502, `upload ${i}`)
    }
    assert.equal(attempts, ['peer-closed-during-upload', 'peer-closed-during-upload', 'peer-closed-during-upload'])
    const peer = proxy.proxy.balancer.peers[0]
    assert.ok(peer !== undefined && proxy.proxy.balancer.isUsable(peer), 'a client cannot take the peer out with uploads it refuses')
  }),
)

failures('should not time out a peer while a slow client uploads or reads', () =>
  withScope(async (scope) => {
    const SIZE = 48 * 1024 * 1024
    const up = scope.defer(
      await httpUpstream((req, res) => {
        let length = 0
        req.on('data', (c: Buffer) => (length += c.length))
        req.on('end', () => {
          if (req.url === '/upload') return void res.end(String(length))
          // A download much larger than the socket buffers, so the pause of the client reaches the peer.
          res.writeHead(200, { 'content-length': String(SIZE) })
          let sent = 0
          const pump = (): void => {
            while (sent < SIZE) {
              sent += 64 * 1024
              if (!res.write(Buffer.alloc(64 * 1024, 1))) return void res.once('drain', pump)
            }
            res.end()
          }
          pump()
        })
      }),
      (u) => u.close(),
    )
    const log = new EventLog<ProxyResponseEvent>()
    const timeout = 150
    const proxy = scope.defer(await listenProxy({ peers: [up.address], proxy: { timeout }, onResponse: log.push }), (p) => p.close())
    const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, timeout * 3))

    // The client sends half its body, goes quiet for three timeouts, then sends the rest.
    const uploaded = await new Promise<string>((resolve, reject) => {
      const req = request(`${proxy.url}/upload`, { method: 'PUT', agent: false, headers: { 'content-length': '2000' } })
      req.on('error', reject)
      req.on('response', (res: IncomingMessage) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (text += c))
        res.on('end', () => resolve(`${res.statusCode} ${text}`))
      })
      req.write(Buffer.alloc(1000))
      void pause().then(() => req.end(Buffer.alloc(1000)))
    })
    assert.is(uploaded, '200 2000')

    // The client reads a little, stops reading for three timeouts, then reads the rest.
    const downloaded = await new Promise<{ bytes: number; complete: boolean }>((resolve, reject) => {
      const req = request(`${proxy.url}/download`, { agent: false })
      req.on('error', reject)
      req.on('response', (res: IncomingMessage) => {
        let bytes = 0
        let paused = false
        res.on('data', (c: Buffer) => {
          bytes += c.length
          if (paused) return
          paused = true
          res.pause()
          void pause().then(() => res.resume())
        })
        res.on('error', () => undefined)
        res.on('close', () => resolve({ bytes, complete: res.complete }))
      })
      req.end()
    })
    assert.ok(downloaded.complete, 'the slow reader got the whole response')
    assert.is(downloaded.bytes, SIZE)
    const events = await log.first(2)
    assert.equal(
      events.map((e) => e.error),
      [undefined, undefined],
    )
  }),
)

failures('should answer 502 to a response that is not HTTP', () =>
  withScope(async () => {
    const garbage = ['NOT HTTP AT ALL\r\n\r\n', 'HTTP/1.1 200 OK\r\nBad Header\r\n\r\n', 'HTTP/1.1 2000 Huh\r\n\r\n', '\x00\x01\x02\x03']
    for (const reply of garbage) {
      const up = await rawUpstream((socket) => {
        socket.on('error', () => undefined)
        socket.once('data', () => socket.end(reply))
      })
      const log = new EventLog<ProxyResponseEvent>()
      const proxy = await listenProxy({ peers: [up.address], onResponse: log.push })
      try {
        const answer = await fetchOnce(proxy.url)
        assert.is(answer.status, 502, JSON.stringify(reply))
        assert.is((await log.first(1))[0]?.error, 'protocol', JSON.stringify(reply))
      } finally {
        await proxy.close()
        await up.close()
      }
    }
  }),
)

failures('should abort the upstream request when the client aborts mid-upload', () =>
  withScope(async (scope) => {
    let resolveAborted: (complete: boolean) => void = () => undefined
    const aborted = new Promise<boolean>((resolve) => (resolveAborted = resolve))
    let resolveStarted: () => void = () => undefined
    const started = new Promise<void>((resolve) => (resolveStarted = resolve))
    const up = scope.defer(
      await httpUpstream((req) => {
        req.once('data', () => resolveStarted())
        req.resume()
        req.once('close', () => resolveAborted(req.complete))
      }),
      (u) => u.close(),
    )
    const log = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(await listenProxy({ peers: [up.address], onResponse: log.push }), (p) => p.close())
    const client = request(proxy.url, { method: 'PUT', agent: false, headers: { 'content-length': String(10 * 1024 * 1024) } })
    client.on('error', () => undefined)
    client.write(Buffer.alloc(64 * 1024))
    await started
    client.destroy()
    assert.is(await aborted, false, 'the upstream request ended incomplete')
    assert.is((await log.first(1))[0]?.error, 'client-aborted')
    assert.is((await log.first(1))[0]?.status, 499)
  }),
)

failures('should retry an idempotent request whose peer closed before answering, but not a POST or a sent PUT body', () =>
  withScope(async (scope) => {
    const closer = scope.defer(
      await rawUpstream((socket) => {
        socket.on('error', () => undefined)
        socket.once('data', () => socket.destroy())
      }),
      (u) => u.close(),
    )
    const live = scope.defer(await counting(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [{ address: closer.address, maxFails: 0 }, live.address] }), (p) => p.close())
    const balancer = proxy.proxy.balancer
    const closerPeer = balancer.peers.find((p) => p.id === closer.address)
    const livePeer = balancer.peers.find((p) => p.id === live.address)
    if (closerPeer === undefined || livePeer === undefined) throw new Error('peers not configured')
    const pinned = { cookie: `route=${balancer.cookieValue(closerPeer)}` }

    const get = await fetchOnce(proxy.url, { headers: pinned })
    assert.is(get.status, 200, 'GET retried on the live peer')
    assert.match(String(get.headers['set-cookie']), `route=${balancer.cookieValue(livePeer)}`)

    const post = await fetchOnce(proxy.url, { method: 'POST', headers: pinned, body: Buffer.from('once') })
    assert.is(post.status, 502, 'POST is never sent twice')

    const put = await fetchOnce(proxy.url, { method: 'PUT', headers: pinned, body: Buffer.alloc(50_000, 1) })
    assert.is(put.status, 502, 'a PUT whose body went out is not sent twice')
  }),
)

failures('should retry a PUT refused before its body was read, delivering the body intact', () =>
  withScope(async (scope) => {
    const live = scope.defer(await counting(), (u) => u.close())
    const dead = `127.0.0.1:${await deadPort()}`
    const proxy = scope.defer(await listenProxy({ peers: [dead, live.address] }), (p) => p.close())
    const deadPeer = proxy.proxy.balancer.peers.find((p) => p.id === dead)
    if (deadPeer === undefined) throw new Error('peer not configured')
    const body = Buffer.alloc(300_000, 7)
    const put = await fetchOnce(proxy.url, { method: 'PUT', body, headers: { cookie: `route=${proxy.proxy.balancer.cookieValue(deadPeer)}` } })
    assert.is(put.status, 200)
    const got = JSON.parse(put.body.toString()) as { length: number; sha256: string; method: string }
    assert.is(got.method, 'PUT')
    assert.is(got.length, body.length)
    assert.is(got.sha256, createHash('sha256').update(body).digest('hex'))
  }),
)

failures('should try each peer at most once, whatever retries allows', () =>
  withScope(async (scope) => {
    const dead = [`127.0.0.1:${await deadPort()}`, `127.0.0.1:${await deadPort()}`]
    const log = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(
      await listenProxy({ peers: dead.map((address) => ({ address, maxFails: 0 })), proxy: { retries: 10 }, onResponse: log.push }),
      (p) => p.close(),
    )
    const answer = await fetchOnce(proxy.url)
    assert.is(answer.status, 502)
    assert.is((await log.first(1))[0]?.attempts, 2)
  }),
)

failures('should honour retries: 0', () =>
  withScope(async (scope) => {
    const live = scope.defer(await counting(), (u) => u.close())
    const dead = `127.0.0.1:${await deadPort()}`
    const proxy = scope.defer(await listenProxy({ peers: [dead, live.address], proxy: { retries: 0 } }), (p) => p.close())
    const deadPeer = proxy.proxy.balancer.peers.find((p) => p.id === dead)
    if (deadPeer === undefined) throw new Error('peer not configured')
    const answer = await fetchOnce(proxy.url, { headers: { cookie: `route=${proxy.proxy.balancer.cookieValue(deadPeer)}` } })
    assert.is(answer.status, 502)
    const after = await fetchOnce(proxy.url, { headers: { cookie: `route=${proxy.proxy.balancer.cookieValue(deadPeer)}` } })
    assert.is(after.status, 200, 'the failure was reported: the client is re-pinned next time')
  }),
)

failures('should keep the client connection usable after an error answer', () =>
  withScope(async (scope) => {
    const dead = `127.0.0.1:${await deadPort()}`
    const proxy = scope.defer(await listenProxy({ peers: [dead] }), (p) => p.close())
    const socket = connect(proxy.port, '127.0.0.1')
    scope.defer(socket, (s) => void s.destroy())
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (c: string) => (text += c))
    socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    await once(socket, 'close')
    assert.is(text.match(/HTTP\/1\.1 502 Bad Gateway/g)?.length, 2, text)
  }),
)

failures.run()
