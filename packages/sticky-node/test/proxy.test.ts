import { Agent, createServer, request, type IncomingMessage } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { withScope } from 'sticky-conformance'
import { StickyConfigError } from 'sticky-core'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createStickyProxy, type ProxyResponseEvent } from '../src/proxy'
import { listenProxy } from './_server'
import { EventLog, fetchOnce, httpUpstream, once, rawUpstream } from './_upstream'

/** An upstream that answers with the request it saw, as JSON. */
function mirror(name = 'm'): ReturnType<typeof httpUpstream> {
  return httpUpstream((req, res) => {
    req.resume()
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.setHeader('x-backend', name)
      res.end(JSON.stringify({ url: req.url, rawHeaders: req.rawHeaders, headers: req.headers }))
    })
  })
}

interface Seen {
  url: string
  rawHeaders: string[]
  headers: Record<string, string | string[] | undefined>
}

function seen(body: Buffer): Seen {
  return JSON.parse(body.toString()) as Seen
}

function names(raw: readonly string[]): string[] {
  return raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
}

// ----------------------------------------------------------------------------------------------
const headers = suite('createStickyProxy: headers')

headers('should strip hop-by-hop request headers, including those named in Connection', () =>
  withScope(async (scope) => {
    const up = scope.defer(await mirror(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [up.address] }), (p) => p.close())
    // A raw request: node:http would not let a client send some of these on its own.
    const socket = connect(proxy.port, '127.0.0.1')
    scope.defer(socket, () => void socket.destroy())
    socket.write(
      'GET /h HTTP/1.1\r\nHost: example.test\r\nConnection: close, X-Private\r\nX-Private: secret\r\n' +
        'Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\n' +
        'X-Keep: yes\r\nProxy-Authorization: Basic eA==\r\n\r\n',
    )
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    await once(socket, 'close')
    const text = Buffer.concat(chunks).toString()
    const body = text.slice(text.indexOf('\r\n\r\n') + 4)
    const got = seen(Buffer.from(body.replace(/^[0-9a-f]+\r\n/, '').replace(/\r\n0\r\n\r\n$/, '')))
    const sent = names(got.rawHeaders)
    for (const hop of ['connection', 'x-private', 'keep-alive', 'proxy-connection', 'te', 'upgrade']) {
      // node:http adds its own `Connection: keep-alive` for the pooled hop; the client's must not pass.
      if (hop === 'connection') assert.not.ok(got.headers['connection']?.toString().toLowerCase().includes('x-private'))
      else assert.not.ok(sent.includes(hop), `${hop} was forwarded`)
    }
    assert.is(got.headers['x-keep'], 'yes')
    assert.is(got.headers['proxy-authorization'], undefined, "credentials for the client's next hop (RFC 9110 section 11.7.2)")
    assert.is(got.headers['host'], up.address, 'Host names the peer (sticky-core upstreamHost)')
    assert.is(got.headers['x-forwarded-host'], 'example.test', "the client's Host travels in X-Forwarded-Host")
  }),
)

headers('should strip hop-by-hop response headers and re-frame the body', () =>
  withScope(async (scope) => {
    const up = scope.defer(
      await rawUpstream((socket) => {
        socket.once('data', () => {
          socket.write(
            'HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Private\r\nX-Private: secret\r\nKeep-Alive: timeout=5\r\n' +
              'Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Keep: yes\r\nTransfer-Encoding: chunked\r\n\r\n' +
              '2\r\nok\r\n3\r\n!!!\r\n0\r\n\r\n',
          )
        })
        socket.on('error', () => undefined)
      }),
      (u) => u.close(),
    )
    const proxy = scope.defer(await listenProxy({ peers: [up.address] }), (p) => p.close())
    const answer = await fetchOnce(proxy.url)
    assert.is(answer.status, 200)
    assert.is(answer.body.toString(), 'ok!!!')
    assert.is(answer.headers['x-keep'], 'yes')
    for (const hop of ['x-private', 'keep-alive', 'proxy-connection', 'upgrade']) assert.is(answer.headers[hop], undefined, hop)
    assert.is(answer.headers['connection'], 'close', "the proxy's own hop")
  }),
)

headers('should write X-Forwarded-For/Proto/Host as configured, believing only a trusted proxy', () =>
  withScope(async (scope) => {
    const up = scope.defer(await mirror(), (u) => u.close())
    const lying = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.test', host: 'shop.test' }
    const cases = [
      { xForwarded: undefined, expected: { for: '127.0.0.1', proto: 'http', host: 'shop.test' } },
      { xForwarded: true, expected: { for: '127.0.0.1', proto: 'http', host: 'shop.test' } },
      { xForwarded: true, trustProxy: 'loopback', expected: { for: '203.0.113.7, 127.0.0.1', proto: 'https', host: 'evil.test' } },
      { xForwarded: true, trustProxy: '::1, 10.0.0.0/8', expected: { for: '127.0.0.1', proto: 'http', host: 'shop.test' } },
      { xForwarded: false, expected: { for: '203.0.113.7', proto: 'https', host: 'evil.test' } },
      { xForwarded: { for: false }, expected: { for: '203.0.113.7', proto: 'http', host: 'shop.test' } },
      { xForwarded: { proto: false, host: false }, expected: { for: '127.0.0.1', proto: 'https', host: 'evil.test' } },
    ]
    for (const { xForwarded, trustProxy, expected } of cases) {
      const proxy = await listenProxy({ peers: [up.address], proxy: { ...(xForwarded === undefined ? {} : { xForwarded }), trustProxy } })
      try {
        const got = seen((await fetchOnce(proxy.url, { headers: lying })).body)
        const label = JSON.stringify([xForwarded, trustProxy])
        assert.is(got.headers['x-forwarded-for'], expected.for, `${label} for`)
        assert.is(got.headers['x-forwarded-proto'], expected.proto, `${label} proto`)
        assert.is(got.headers['x-forwarded-host'], expected.host, `${label} host`)
      } finally {
        await proxy.close()
      }
    }
    const fresh = await listenProxy({ peers: [up.address] })
    try {
      const got = seen((await fetchOnce(fresh.url)).body)
      assert.is(got.headers['x-forwarded-for'], '127.0.0.1', 'a list is started when the client sent none')
    } finally {
      await fresh.close()
    }
  }),
)

headers('should send a Host naming the peer whatever the client sent, and reduce absolute-form targets', () =>
  withScope(async (scope) => {
    const up = scope.defer(await mirror(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [up.address] }), (p) => p.close())
    const cases = [
      { request: 'GET /ten HTTP/1.0\r\n\r\n', url: '/ten', host: up.address },
      { request: 'GET http://elsewhere.test:1/abs?q=1 HTTP/1.1\r\nHost: elsewhere.test:1\r\nConnection: close\r\n\r\n', url: '/abs?q=1', host: up.address },
    ]
    for (const c of cases) {
      const socket = connect(proxy.port, '127.0.0.1')
      const chunks: Buffer[] = []
      socket.on('data', (chunk: Buffer) => chunks.push(chunk))
      socket.write(c.request)
      await once(socket, 'close')
      const text = Buffer.concat(chunks).toString()
      const got = seen(Buffer.from(text.slice(text.indexOf('\r\n\r\n') + 4)))
      assert.is(got.url, c.url)
      assert.is(got.headers['host'], c.host)
    }
  }),
)

headers('should relay 103 Early Hints and response trailers', () =>
  withScope(async (scope) => {
    const up = scope.defer(
      await httpUpstream((req, res) => {
        req.resume()
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' })
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' })
        res.write('body')
        res.addTrailers({ 'x-checksum': 'abc' })
        res.end()
      }),
      (u) => u.close(),
    )
    const proxy = scope.defer(await listenProxy({ peers: [up.address] }), (p) => p.close())
    const hints: string[] = []
    const answer = await new Promise<{ body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
      const req = request(proxy.url, { agent: false })
      req.on('information', (info) => {
        if (info.statusCode === 103) hints.push(String(info.headers['link']))
      })
      req.on('error', reject)
      req.on('response', (res: IncomingMessage) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ body, trailers: res.trailers }))
      })
      req.end()
    })
    assert.equal(hints, ['</style.css>; rel=preload; as=style'])
    assert.is(answer.body, 'body')
    assert.is(answer.trailers['x-checksum'], 'abc')
  }),
)

headers('should relay every upstream Set-Cookie when the application already set a header on the response', () =>
  withScope(async (scope) => {
    const up = scope.defer(
      await httpUpstream((req, res) => {
        req.resume()
        res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/'])
        res.setHeader('x-dup', ['one', 'two'])
        res.end('ok')
      }),
      (u) => u.close(),
    )
    const proxy = createStickyProxy({ peers: [up.address] })
    // As an application (or the CLI during shutdown) may do before handing the response over.
    const server = createServer((req, res) => {
      res.setHeader('x-app', 'yes')
      proxy(req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    scope.defer(server, (s) => new Promise<void>((resolve) => (s.closeAllConnections(), s.close(() => resolve()), proxy.close())))
    const answer = await fetchOnce(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    assert.is(answer.status, 200)
    assert.is(answer.headers['x-app'], 'yes')
    assert.is(answer.headers['x-dup'], 'one, two')
    const cookies = answer.headers['set-cookie'] ?? []
    assert.equal(cookies.slice(0, 2), ['a=1; Path=/', 'b=2; Path=/'])
    assert.is(cookies.length, 3)
    assert.match(cookies[2] ?? '', /^route=[0-9a-f]{32}; Path=\/$/)
  }),
)

headers.run()

// ----------------------------------------------------------------------------------------------
const messages = suite('createStickyProxy: methods and statuses')

messages('should answer HEAD with the upstream headers and no body, and pass 204 and 304', () =>
  withScope(async (scope) => {
    const up = scope.defer(
      await httpUpstream((req, res) => {
        req.resume()
        if (req.url === '/204') return void res.writeHead(204).end()
        if (req.url === '/304') return void res.writeHead(304, { etag: '"v1"' }).end()
        res.writeHead(200, { 'content-length': '11', 'x-method': req.method ?? '' })
        res.end(req.method === 'HEAD' ? undefined : 'hello world')
      }),
      (u) => u.close(),
    )
    const proxy = scope.defer(await listenProxy({ peers: [up.address] }), (p) => p.close())
    const head = await fetchOnce(proxy.url, { method: 'HEAD' })
    assert.is(head.status, 200)
    assert.is(head.headers['content-length'], '11')
    assert.is(head.headers['x-method'], 'HEAD')
    assert.is(head.body.length, 0)
    const get = await fetchOnce(proxy.url)
    assert.is(get.body.toString(), 'hello world')
    const noContent = await fetchOnce(`${proxy.url}/204`)
    assert.is(noContent.status, 204)
    assert.is(noContent.body.length, 0)
    const notModified = await fetchOnce(`${proxy.url}/304`, { headers: { 'if-none-match': '"v1"' } })
    assert.is(notModified.status, 304)
    assert.is(notModified.headers['etag'], '"v1"')
  }),
)

messages('should answer Expect: 100-continue itself and stream the body without Expect upstream', () =>
  withScope(async (scope) => {
    const up = scope.defer(await mirror(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [up.address] }), (p) => p.close())
    const result = await new Promise<{ continued: boolean; got: Seen }>((resolve, reject) => {
      let continued = false
      const req = request(proxy.url, { method: 'PUT', agent: false, headers: { expect: '100-continue', 'content-length': '5' } })
      req.on('error', reject)
      req.on('continue', () => {
        continued = true
        req.end('hello')
      })
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ continued, got: seen(Buffer.concat(chunks)) }))
      })
      req.flushHeaders()
    })
    assert.ok(result.continued)
    assert.is(result.got.headers['expect'], undefined)
    assert.is(result.got.headers['content-length'], '5')
  }),
)

messages.run()

// ----------------------------------------------------------------------------------------------
const pools = suite('createStickyProxy: connection pools')

pools('should reuse one upstream connection for sequential requests (keep-alive)', () =>
  withScope(async (scope) => {
    const up = scope.defer(await mirror(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [up.address] }), (p) => p.close())
    const warnings: Error[] = []
    const onWarning = (w: Error): void => void warnings.push(w)
    process.on('warning', onWarning)
    scope.defer(undefined, () => void process.off('warning', onWarning))
    for (let i = 0; i < 30; i += 1) assert.is((await fetchOnce(`${proxy.url}/${i}`)).status, 200)
    assert.is(up.connections, 1, 'one pooled connection served every request')
    const [socket] = up.sockets
    assert.ok(socket, 'the pooled connection is still open')
    assert.equal(
      warnings.map((w) => w.name),
      [],
      'no listener leak warnings',
    )
  }),
)

pools('should close idle upstream connections on close()', () =>
  withScope(async (scope) => {
    const up = scope.defer(await mirror(), (u) => u.close())
    const proxy = scope.defer(await listenProxy({ peers: [up.address] }), (p) => p.close())
    await fetchOnce(proxy.url)
    const [socket] = up.sockets
    assert.ok(socket)
    const closed = once(socket as NonNullable<typeof socket>, 'close')
    proxy.proxy.close()
    await closed
    assert.is(up.sockets.size, 0)
  }),
)

pools('should use the agent the agent option returns, and leave it to its owner', () =>
  withScope(async (scope) => {
    const up = scope.defer(await mirror(), (u) => u.close())
    const agent = scope.defer(new Agent({ keepAlive: true }), (a) => a.destroy())
    const asked: string[] = []
    const proxy = scope.defer(await listenProxy({ peers: [up.address], proxy: { agent: (peer) => (asked.push(peer.id), agent) } }), (p) => p.close())
    await fetchOnce(proxy.url)
    await fetchOnce(proxy.url)
    assert.equal(asked, [up.address], 'asked once per peer')
    assert.is(Object.values(agent.freeSockets).flat().length, 1, 'the connection sits in the given agent')
    proxy.proxy.close()
    assert.is(Object.values(agent.freeSockets).flat().length, 1, 'close() leaves a given agent alone')
  }),
)

pools('should reach a peer on a unix socket', () =>
  withScope(async (scope) => {
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { createServer } = await import('node:http')
    const dir = mkdtempSync(join(tmpdir(), 'sticky-'))
    scope.defer(undefined, () => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 'peer.sock')
    const server = createServer((req, res) => {
      req.resume()
      res.end(`unix ${req.url}`)
    })
    await new Promise<void>((resolve) => server.listen(path, resolve))
    scope.defer(server, () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))))
    const proxy = scope.defer(await listenProxy({ peers: [`unix:${path}`] }), (p) => p.close())
    const answer = await fetchOnce(`${proxy.url}/u`)
    assert.is(answer.status, 200)
    assert.is(answer.body.toString(), 'unix /u')
  }),
)

pools.run()

// ----------------------------------------------------------------------------------------------
const events = suite('createStickyProxy: onResponse')

events('should report each exchange once with its decision, status, peer and attempts', () =>
  withScope(async (scope) => {
    const up = scope.defer(await mirror('live'), (u) => u.close())
    const dead = await rawUpstream(() => undefined)
    const deadAddress = dead.address
    await dead.close()
    const log = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(await listenProxy({ peers: [{ address: deadAddress, maxFails: 0 }, up.address], onResponse: log.push }), (p) => p.close())
    const first = await fetchOnce(`${proxy.url}/first`)
    assert.is(first.status, 200)
    await fetchOnce(`${proxy.url}/second`, { headers: { cookie: String(first.headers['set-cookie']?.[0]?.split(';')[0]) } })
    const [retried, hit] = await log.first(2)
    assert.is(log.events.length, 2)
    assert.is(retried?.request.url, '/first')
    assert.is(retried?.path, '/first')
    assert.is(retried?.method, 'GET')
    assert.is(retried?.outcome, retried?.decision.outcome)
    assert.is(retried?.status, 200)
    assert.is(retried?.attempts, 2, 'the dead peer first, then the live one')
    assert.is(retried?.peer?.id, up.address)
    assert.is(retried?.decision.peer?.id, up.address, 'the last decision names the peer that answered')
    assert.is(retried?.error, undefined)
    assert.is(retried?.upgrade, false)
    assert.ok((retried?.durationMs ?? -1) >= 0)
    assert.is(hit?.decision.outcome, 'hit')
    assert.is(hit?.attempts, 1)
  }),
)

events('should report 502 with attempts 0 when the balancer has no peer', () =>
  withScope(async (scope) => {
    const up = scope.defer(await mirror(), (u) => u.close())
    const log = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(await listenProxy({ peers: [{ address: up.address, down: true }], onResponse: log.push }), (p) => p.close())
    const answer = await fetchOnce(proxy.url)
    assert.is(answer.status, 502)
    assert.is(answer.headers['content-type'], 'text/plain; charset=utf-8')
    assert.is((await log.first(1))[0]?.status, 502)
    assert.is((await log.first(1))[0]?.attempts, 0)
    assert.is((await log.first(1))[0]?.peer, null)
    assert.is((await log.first(1))[0]?.error, 'unavailable')
    assert.is(up.connections, 0)
  }),
)

events.run()

// ----------------------------------------------------------------------------------------------
const config = suite('createStickyProxy: configuration')

config('should throw at creation for invalid options', () => {
  const { createStickyProxy } = require('../src/proxy') as typeof import('../src/proxy')
  assert.throws(
    () => createStickyProxy({ peers: [] }),
    (e: unknown) => e instanceof StickyConfigError,
  )
  const names =
    (option: string, value: unknown) =>
    (e: unknown): boolean =>
      e instanceof StickyConfigError && e.option === option && e.value === value && e.message.includes(option)
  assert.throws(() => createStickyProxy({ peers: ['127.0.0.1:1'], proxy: { timeout: -5 } }), names('proxy.timeout', -5))
  assert.throws(() => createStickyProxy({ peers: ['127.0.0.1:1'], proxy: { retries: 0.5 } }), names('proxy.retries', 0.5))
})

config('should read proxy.timeout 0 as no limit: a peer that answers late is still relayed', () =>
  withScope(async (scope) => {
    const up = scope.defer(
      await httpUpstream((req, res) => {
        req.resume()
        setTimeout(() => res.end('late'), 150)
      }),
      (u) => u.close(),
    )
    const proxy = scope.defer(await listenProxy({ peers: [up.address], proxy: { timeout: 0 } }), (p) => p.close())
    const answer = await fetchOnce(proxy.url)
    assert.is(answer.status, 200)
    assert.is(answer.body.toString(), 'late')
  }),
)

config('should expose the balancer it routes with', () =>
  withScope(async (scope) => {
    const proxy = scope.defer(await listenProxy({ peers: ['127.0.0.1:1', '127.0.0.1:2'] }), (p) => p.close())
    assert.equal(
      proxy.proxy.balancer.peers.map((p) => p.id),
      ['127.0.0.1:1', '127.0.0.1:2'],
    )
    assert.ok((proxy.server.address() as AddressInfo).port > 0)
  }),
)

config.run()
