import { createServer, type Server } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { connect } from 'node:net'
import { withScope } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { ProxyResponseEvent } from '../src/proxy'
import { listenProxy } from './_server'
import { TEST_CERT, TEST_KEY } from './_tls'
import { EventLog, fetchOnce, once, until } from './_upstream'

/** An HTTPS peer that says whether the request reached it encrypted, and echoes upgraded bytes. */
async function httpsPeer(): Promise<{ server: Server; origin: string; close: () => Promise<void> }> {
  const server = createServer({ key: TEST_KEY, cert: TEST_CERT }, (req, res) => {
    req.resume()
    res.end(`tls=${String((req.socket as { encrypted?: boolean }).encrypted)} host=${req.headers.host}`)
  })
  server.on('upgrade', (_req, socket: Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n')
    socket.on('error', () => undefined)
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    server,
    origin: `https://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  }
}

const https = suite('createStickyProxy: https peers')

https('should reach an https:// peer over TLS, trusting the CA the agent option gives', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await httpsPeer(), (p) => p.close())
    const proxy = scope.defer(await listenProxy({ peers: [peer.origin], proxy: { agent: () => ({ ca: TEST_CERT }) } }), (p) => p.close())
    const answer = await fetchOnce(proxy.url, { headers: { host: 'shop.test' } })
    assert.is(answer.status, 200)
    assert.is(answer.body.toString(), `tls=true host=${new URL(peer.origin).host}`, 'Host names the peer, as the certificate does')
  }),
)

https('should refuse a peer whose certificate it cannot verify (502, never silently insecure)', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await httpsPeer(), (p) => p.close())
    const log = new EventLog<ProxyResponseEvent>()
    const proxy = scope.defer(await listenProxy({ peers: [peer.origin], onResponse: log.push }), (p) => p.close())
    const answer = await fetchOnce(proxy.url)
    assert.is(answer.status, 502)
    const [event] = await log.first(1)
    assert.is(event?.error, 'connect')
  }),
)

https('should tunnel an upgrade to an https:// peer', () =>
  withScope(async (scope) => {
    const peer = scope.defer(await httpsPeer(), (p) => p.close())
    const proxy = scope.defer(await listenProxy({ peers: [peer.origin], proxy: { agent: () => ({ ca: TEST_CERT }) } }), (p) => p.close())
    const socket = connect(proxy.port, '127.0.0.1')
    scope.defer(socket, (s) => void s.destroy())
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (c: string) => (text += c))
    await once(socket, 'connect')
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n')
    await until(() => text.includes('\r\n\r\n'), 'the 101')
    socket.write('through tls')
    await until(() => text.endsWith('through tls'), 'the echo')
    assert.match(text, /^HTTP\/1\.1 101 /)
  }),
)

https.run()
