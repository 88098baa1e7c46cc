import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, createSecureServer, type ClientHttp2Session, type Http2SecureServer, type IncomingHttpHeaders } from 'node:http2'
import { request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { writeSelfSigned } from './_certificate'
import { createStickyProxy, type ProxyResponseEvent, type StickyProxyOptions } from '../src/proxy'

/**
 * A self-signed certificate for 127.0.0.1, made for this run (node:crypto makes keys, not
 * certificates): a P-256 key, valid for a day, the address in subjectAltName as TLS clients check it.
 */
function selfSigned(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sticky-h2-'))
  try {
    const { key, cert } = writeSelfSigned(dir, 'sticky-http2-test')
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const { key: TEST_KEY, cert: TEST_CERT } = selfSigned()

/** A plain HTTP/1.1 peer that reports what it saw: its name, the request line, the fields and the body. */
async function peer(name: string): Promise<{ address: string; close: () => Promise<void> }> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      if (req.url === '/missing') {
        res.writeHead(404, 'Not Here', { 'content-type': 'text/plain' }).end('no such page')
        return
      }
      const report = JSON.stringify({
        name,
        method: req.method,
        url: req.url,
        httpVersion: req.httpVersion,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      })
      if (req.url === '/trailers') {
        res.writeHead(200, { trailer: 'x-checksum', 'content-type': 'application/json' })
        res.write(report)
        res.addTrailers({ 'x-checksum': 'abc' })
        res.end()
        return
      }
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/'])
      res.setHeader('content-type', 'application/json')
      res.end(report)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { address: `127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) }
}

/** The proxy as the request handler of a TLS listener offering h2 and http/1.1 (ALPN). */
async function tlsProxy(options: StickyProxyOptions): Promise<{ server: Http2SecureServer; origin: string; close: () => Promise<void> }> {
  const proxy = createStickyProxy(options)
  const server = createSecureServer({ key: TEST_KEY, cert: TEST_CERT, allowHTTP1: true }, proxy)
  server.on('upgrade', proxy.upgrade)
  const sessions = new Set<{ destroy(): void }>()
  server.on('session', (session) => sessions.add(session))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    server,
    origin: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const session of sessions) session.destroy()
        proxy.close()
      }),
  }
}

interface H2Answer {
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly trailers: IncomingHttpHeaders | undefined
}

function h2(session: ClientHttp2Session, headers: Record<string, string | string[]>, body?: string): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined })
    let head: IncomingHttpHeaders = {}
    let trailers: IncomingHttpHeaders | undefined
    let text = ''
    stream.setEncoding('utf8')
    stream.on('response', (h) => (head = h))
    stream.on('trailers', (t) => (trailers = t))
    stream.on('data', (chunk: string) => (text += chunk))
    stream.on('end', () => resolve({ headers: head, body: text, trailers }))
    stream.on('error', reject)
    if (body !== undefined) stream.end(body)
  })
}

const cookieOf = (setCookie: IncomingHttpHeaders['set-cookie']): string | undefined => setCookie?.find((line) => line.startsWith('route='))?.split(';')[0]

const HTTP2 = suite('createStickyProxy: HTTP/2 clients')

HTTP2('should proxy an HTTP/2 client upstream as HTTP/1.1 and keep it pinned by the cookie', () =>
  withScope(async (scope) => {
    const a = scope.defer(await peer('a'), (p) => p.close())
    const b = scope.defer(await peer('b'), (p) => p.close())
    const events: ProxyResponseEvent[] = []
    const proxy = scope.defer(await tlsProxy({ peers: [a.address, b.address], onResponse: (e) => events.push(e) }), (p) => p.close())
    const session = scope.defer(connect(proxy.origin, { ca: TEST_CERT }), (s) => s.close())

    const first = await h2(session, { ':path': '/hello?x=1', ':method': 'GET' })
    assert.is(first.headers[':status'], 200)
    const seen = JSON.parse(first.body) as { name: string; httpVersion: string; url: string; headers: Record<string, string> }
    assert.is(seen.httpVersion, '1.1')
    assert.is(seen.url, '/hello?x=1')
    assert.is(seen.headers['x-forwarded-proto'], 'https', 'a TLS listener is https')
    assert.is(seen.headers['x-forwarded-host'], new URL(proxy.origin).host, ':authority is the client host')
    assert.is(seen.headers.host, seen.name === 'a' ? a.address : b.address)
    // Every Set-Cookie arrives apart: the peer's two and the balancer's.
    assert.equal(first.headers['set-cookie']?.slice(0, 2), ['a=1; Path=/', 'b=2; Path=/'])
    const cookie = cookieOf(first.headers['set-cookie'])
    assert.ok(cookie, 'the pin cookie is set')

    for (let i = 0; i < 4; i += 1) {
      // HTTP/2 clients may split Cookie into crumbs (RFC 9113 section 8.2.3); the peer gets one line.
      const again = await h2(session, { ':path': '/again', ':method': 'GET', cookie: ['other=1', cookie as string] })
      const report = JSON.parse(again.body) as { name: string; headers: Record<string, string> }
      assert.is(report.name, seen.name, 'pinned to the same peer')
      assert.is(report.headers.cookie, `other=1; ${cookie}`)
    }
    assert.ok(events.every((e) => e.status === 200 && e.error === undefined))
  }),
)

HTTP2('should send an HTTP/2 request body upstream, with and without Content-Length', () =>
  withScope(async (scope) => {
    const a = scope.defer(await peer('a'), (p) => p.close())
    const proxy = scope.defer(await tlsProxy({ peers: [a.address] }), (p) => p.close())
    const session = scope.defer(connect(proxy.origin, { ca: TEST_CERT }), (s) => s.close())
    const body = 'x'.repeat(70_000)
    for (const headers of [
      { ':method': 'POST', ':path': '/upload' },
      { ':method': 'PUT', ':path': '/upload', 'content-length': String(body.length) },
    ]) {
      const answer = await h2(session, headers, body)
      assert.is(answer.headers[':status'], 200)
      const report = JSON.parse(answer.body) as { method: string; body: string }
      assert.is(report.method, headers[':method'])
      assert.is(report.body.length, body.length, `${headers[':method']}: the whole body`)
    }
  }),
)

HTTP2("should relay a peer's 404 and its trailers to an HTTP/2 client", () =>
  withScope(async (scope) => {
    const a = scope.defer(await peer('a'), (p) => p.close())
    const proxy = scope.defer(await tlsProxy({ peers: [a.address] }), (p) => p.close())
    const session = scope.defer(connect(proxy.origin, { ca: TEST_CERT }), (s) => s.close())
    const missing = await h2(session, { ':path': '/missing' })
    assert.is(missing.headers[':status'], 404)
    assert.is(missing.body, 'no such page')
    const trailed = await h2(session, { ':path': '/trailers', te: 'trailers' })
    assert.is(trailed.headers[':status'], 200)
    assert.is(trailed.trailers?.['x-checksum'], 'abc')
  }),
)

HTTP2("should answer an HTTP/2 client with the proxy's own status and the request id", () =>
  withScope(async (scope) => {
    const a = scope.defer(await peer('a'), (p) => p.close())
    const gone = await peer('gone')
    await gone.close()
    const proxy = scope.defer(await tlsProxy({ peers: [gone.address], proxy: { requestId: true, retries: 0 } }), (p) => p.close())
    const session = scope.defer(connect(proxy.origin, { ca: TEST_CERT }), (s) => s.close())
    const answer = await h2(session, { ':path': '/' })
    assert.is(answer.headers[':status'], 502)
    assert.match(String(answer.headers['x-request-id']), /^[0-9a-f-]{36}$/)
    const ok = scope.defer(await tlsProxy({ peers: [a.address], proxy: { requestId: true } }), (p) => p.close())
    const okSession = scope.defer(connect(ok.origin, { ca: TEST_CERT }), (s) => s.close())
    const relayed = await h2(okSession, { ':path': '/', 'x-request-id': 'from-client' })
    const report = JSON.parse(relayed.body) as { headers: Record<string, string> }
    assert.is(relayed.headers['x-request-id'], report.headers['x-request-id'], 'the client and the peer see one id')
    assert.is.not(report.headers['x-request-id'], 'from-client', 'an untrusted client does not choose it')
  }),
)

HTTP2('should serve an HTTP/1.1 client on the same TLS listener', () =>
  withScope(async (scope) => {
    const a = scope.defer(await peer('a'), (p) => p.close())
    const proxy = scope.defer(await tlsProxy({ peers: [a.address] }), (p) => p.close())
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(`${proxy.origin}/one`, { ca: TEST_CERT, method: 'POST', agent: false }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      })
      req.on('error', reject)
      req.end('hello')
    })
    assert.is(status, 200)
    const report = JSON.parse(body) as { body: string; headers: Record<string, string> }
    assert.is(report.body, 'hello')
    assert.is(report.headers['x-forwarded-proto'], 'https')
  }),
)
HTTP2('should refuse a request whose Host names another site than its :authority, and take one that agrees', () =>
  withScope(async (scope) => {
    const a = scope.defer(await peer('a'), (p) => p.close())
    const events: ProxyResponseEvent[] = []
    const proxy = scope.defer(await tlsProxy({ peers: [a.address], onResponse: (e) => events.push(e) }), (p) => p.close())
    const session = scope.defer(connect(proxy.origin, { ca: TEST_CERT }), (s) => s.close())
    const authority = new URL(proxy.origin).host
    const refused = await h2(session, { ':path': '/', ':method': 'GET', ':authority': 'good.example', host: 'evil.example' })
    assert.is(refused.headers[':status'], 400)
    assert.not.ok(refused.body.includes('"name"'), 'no peer answered')
    const agreed = await h2(session, { ':path': '/', ':method': 'GET', ':authority': authority, host: authority.toUpperCase() })
    assert.is(agreed.headers[':status'], 200)
    assert.is((JSON.parse(agreed.body) as { headers: Record<string, string> }).headers['x-forwarded-host'], authority.toUpperCase())
    assert.equal(
      events.map((e) => e.status),
      [400, 200],
    )
  }),
)

HTTP2.run()
