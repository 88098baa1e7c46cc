import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect as http2Connect } from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import WebSocket, { WebSocketServer } from 'ws'
import { parsePrometheus, type Sample, sum } from './_prometheus'
import { get, setCookieValue, spawnCli, startBackend, startCli, type CliProcess, type TestBackend } from './_cli-process'
import { writeSelfSigned } from './_certificate'
import { rawClient } from './_raw'
import { TEST_CERT, TEST_KEY } from './_tls'

async function scrape(port: number): Promise<Sample[]> {
  const reply = await get(port, '/metrics')
  assert.is(reply.status, 200)
  assert.match(String(reply.headers['content-type']), /^text\/plain/)
  return parsePrometheus(reply.body)
}

/** Lines of stdout that are JSON objects (all of them, in JSON mode). */
function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

async function withBackends(names: readonly string[], body: (backends: TestBackend[]) => Promise<void>, slowMs?: number): Promise<void> {
  const backends: TestBackend[] = []
  try {
    for (const name of names) backends.push(await startBackend(name, slowMs))
    await body(backends)
  } finally {
    await Promise.all(backends.map((backend) => backend.close()))
  }
}

async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sticky-cli-prod-'))
  try {
    await body(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const upstreams = (backends: readonly TestBackend[]): string[] => backends.flatMap((backend) => ['--upstream', backend.address])

const Logs = suite('sticky-proxy --log-format json')

Logs('should write one JSON object per request with the documented fields, and never a cookie value', async () => {
  await withBackends(['one'], async (backends) => {
    const cli = await startCli([...upstreams(backends), '--log-format', 'json'])
    try {
      const first = await get(cli.port, '/login?token=hush')
      const cookie = setCookieValue(first, 'route') ?? ''
      assert.ok(cookie.length > 0)
      await get(cli.port, '/cart', { cookie: `route=${cookie}` })
      await cli.waitFor(/"path":"\/cart"/)
      const lines = jsonLines(cli.stdout())
      assert.match(String(lines[0]?.['msg']), /^sticky-proxy listening on http:\/\/127\.0\.0\.1:\d+/)
      const requests = lines.filter((line) => line['msg'] === 'request')
      assert.is(requests.length, 2)
      const [login, cart] = requests
      for (const [line, path, outcome] of [
        [login, '/login', 'new'],
        [cart, '/cart', 'hit'],
      ] as const) {
        assert.is(line?.['method'], 'GET')
        assert.is(line?.['path'], path)
        assert.is(line?.['status'], 200)
        assert.is(line?.['outcome'], outcome)
        assert.is(line?.['peer'], backends[0]?.address)
        assert.is(line?.['attempts'], 1)
        assert.type(line?.['durationMs'], 'number')
        assert.ok(!Number.isNaN(Date.parse(String(line?.['time']))), String(line?.['time']))
      }
      // The request id sent back to the client is the one logged.
      const sentId = first.headers['x-request-id']
      if (sentId !== undefined) assert.is(login?.['requestId'], sentId)
      assert.not.ok(cli.stdout().includes(cookie))
      assert.not.ok(cli.stdout().includes('hush'))
    } finally {
      cli.kill()
    }
  })
})

Logs.run()

const Shutdown = suite('sticky-proxy --grace')

Shutdown('should log a request that completes during shutdown, then exit 0', async () => {
  await withBackends(
    ['slow'],
    async (backends) => {
      const cli = await startCli([...upstreams(backends), '--log-format', 'json'])
      try {
        const arrived = backends[0]?.slowArrived()
        const inFlight = get(cli.port, '/slow').catch((error: Error) => ({ status: 0, body: String(error), headers: {} }))
        await arrived
        cli.child.kill('SIGTERM')
        assert.is((await inFlight).status, 200)
        assert.equal(await cli.exited(), { code: 0, signal: null })
        const requests = jsonLines(cli.stdout()).filter((line) => line['msg'] === 'request')
        assert.equal(
          requests.map((line) => [line['path'], line['status']]),
          [['/slow', 200]],
        )
      } finally {
        cli.kill()
      }
    },
    200,
  )
})

Shutdown('should exit 1 when the grace ran out with a request cut', async () => {
  await withBackends(
    ['stuck'],
    async (backends) => {
      const cli = await startCli([...upstreams(backends), '--grace', '100ms', '--quiet'])
      try {
        const arrived = backends[0]?.slowArrived()
        const inFlight = get(cli.port, '/slow').then(
          (reply) => `answered ${reply.status}`,
          (error: NodeJS.ErrnoException) => error.code,
        )
        await arrived
        cli.child.kill('SIGTERM')
        assert.equal(await cli.exited(), { code: 1, signal: null })
        assert.match(cli.stderr(), /grace period over, 1 request\(s\) cut/)
        // The client's request was cut, not answered; the backend (still holding its answer back) is
        // closed here, its pending answer dropped with the connection the proxy left.
        assert.is(await inFlight, 'ECONNRESET')
        await backends[0]?.close()
      } finally {
        cli.kill()
      }
    },
    60_000,
  )
})

Shutdown('should log the requests the grace period cut, then exit 1', async () => {
  await withBackends(
    ['stuck'],
    async (backends) => {
      const cli = await startCli([...upstreams(backends), '--grace', '100ms', '--log-format', 'json'])
      try {
        const arrived = backends[0]?.slowArrived()
        const inFlight = get(cli.port, '/slow').catch(() => undefined)
        await arrived
        cli.child.kill('SIGTERM')
        assert.equal(await cli.exited(), { code: 1, signal: null })
        await inFlight
        // The cut request's line was once lost: the process exited before its connection's 'close'.
        const requests = jsonLines(cli.stdout()).filter((line) => line['msg'] === 'request')
        assert.equal(
          requests.map((line) => [line['path'], line['status']]),
          [['/slow', 499]],
        )
        await backends[0]?.close()
      } finally {
        cli.kill()
      }
    },
    60_000,
  )
})

Shutdown.run()

const Metrics = suite('sticky-proxy --metrics')

Metrics('should count requests by peer, outcome and status class, and show peers usable until they fail', async () => {
  await withBackends(['one', 'two'], async (backends) => {
    const cli = await startCli([...upstreams(backends), '--metrics', '127.0.0.1:0', '--quiet'])
    try {
      const metricsPort = Number((await cli.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1])
      const first = await get(cli.port, '/')
      const cookie = setCookieValue(first, 'route') ?? ''
      const pinned = backends.find((backend) => backend.name === first.headers['x-backend'])
      const other = backends.find((backend) => backend !== pinned)
      if (pinned === undefined || other === undefined) throw new Error('no pinned backend')
      await get(cli.port, '/', { cookie: `route=${cookie}` })
      await get(cli.port, '/', { cookie: `route=${cookie}` })
      let samples = await scrape(metricsPort)
      assert.is(sum(samples, 'sticky_requests_total'), 3)
      assert.is(sum(samples, 'sticky_requests_total', { peer: pinned.address, outcome: 'new', status_class: '2xx' }), 1)
      assert.is(sum(samples, 'sticky_requests_total', { peer: pinned.address, outcome: 'hit', status_class: '2xx' }), 2)
      assert.is(sum(samples, 'sticky_peer_usable', { peer: pinned.address }), 1)
      assert.is(sum(samples, 'sticky_peer_usable', { peer: other.address }), 1)
      assert.ok(
        samples.some((sample) => sample.name === 'process_cpu_user_seconds_total'),
        'default process metrics',
      )

      await pinned.close()
      const moved = await get(cli.port, '/', { cookie: `route=${cookie}` })
      assert.is(moved.headers['x-backend'], other.name)
      samples = await scrape(metricsPort)
      assert.is(sum(samples, 'sticky_requests_total'), 4)
      assert.is(sum(samples, 'sticky_peer_usable', { peer: pinned.address }), 0)
      assert.is(sum(samples, 'sticky_peer_usable', { peer: other.address }), 1)
      assert.is((await get(metricsPort, '/other')).status, 404)
    } finally {
      cli.kill()
    }
  })
})

Metrics('should log and count a request that no route takes, as every other request', async () => {
  await withTempDir(async (dir) => {
    await withBackends(['api'], async ([api]) => {
      if (api === undefined) throw new Error('backend')
      const config = join(dir, 'proxy.yaml')
      writeFileSync(config, `routes:\n  - path: /api\n    peers: [${api.address}]\nlog:\n  format: json\nmetrics: 127.0.0.1:0\n`)
      const cli = await startCli(['--config', config])
      try {
        const metricsPort = Number((await cli.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1])
        assert.is((await get(cli.port, '/api/x')).headers['x-backend'], 'api')
        assert.is((await get(cli.port, '/elsewhere?secret=1')).status, 404)
        assert.is((await get(cli.port, '/socket', { connection: 'upgrade', upgrade: 'websocket' })).status, 404)
        await cli.waitFor(/"path":"\/socket"[^]*"path":"\/elsewhere"|"path":"\/elsewhere"[^]*"path":"\/socket"/)
        // In path order (the 404's line is written when its connection closes, maybe after the next one's).
        const requests = jsonLines(cli.stdout())
          .filter((line) => line['msg'] === 'request')
          .sort((a, b) => String(a['path']).localeCompare(String(b['path'])))
        assert.equal(
          requests.map((line) => [line['path'], line['status'], line['outcome'], line['peer'], line['route'], line['upgrade']]),
          [
            ['/api/x', 200, 'new', api.address, '/api', undefined],
            ['/elsewhere', 404, '-', null, '-', undefined],
            ['/socket', 404, '-', null, '-', true],
          ],
        )
        const samples = await scrape(metricsPort)
        assert.is(sum(samples, 'sticky_requests_total'), 3)
        assert.is(sum(samples, 'sticky_requests_total', { route: '-', peer: '-', outcome: '-', status_class: '4xx' }), 2)
      } finally {
        cli.kill()
      }
    })
  })
})

Metrics('should route by the path sent upstream: an absolute-form target by its own path, a dot-segment resolved', async () => {
  await withTempDir(async (dir) => {
    await withBackends(['api'], async ([api]) => {
      if (api === undefined) throw new Error('backend')
      const config = join(dir, 'proxy.yaml')
      writeFileSync(config, `routes:\n  - path: /api\n    peers: [${api.address}]\nlog:\n  format: json\n`)
      const cli = await startCli(['--config', config])
      const client = await rawClient(cli.port)
      try {
        // Once routed by its scheme and authority (no route: 404), and logged with its userinfo.
        const absolute = await client.exchange('GET http://user:SECRETPW@elsewhere.example/api/x?q=1 HTTP/1.1\r\nHost: a\r\n\r\n')
        assert.is(absolute.status, 200)
        assert.equal(absolute.headers.get('x-backend'), ['api'])
        // Once routed to /api's peer, which resolves it to /admin: no route takes /admin.
        assert.is((await client.exchange('GET /api/../admin HTTP/1.1\r\nHost: a\r\n\r\n')).status, 404)
        assert.is((await client.exchange('GET /api/%2e%2E/admin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).status, 404)
        await cli.waitFor(/"path":"\/api\/%2e%2E\/admin"/)
        const paths = jsonLines(cli.stdout())
          .filter((line) => line['msg'] === 'request')
          .map((line) => line['path'])
        assert.equal(paths, ['/api/x', '/api/../admin', '/api/%2e%2E/admin'])
        assert.not.match(cli.stdout(), /SECRETPW/)
      } finally {
        client.close()
        cli.kill()
      }
    })
  })
})

Metrics('should show the requests in flight to a peer at scrape time', async () => {
  await withBackends(
    ['slow'],
    async ([slow]) => {
      if (slow === undefined) throw new Error('backend')
      const cli = await startCli(['--upstream', slow.address, '--metrics', '127.0.0.1:0', '--quiet'])
      try {
        const metricsPort = Number((await cli.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1])
        const arrived = slow.slowArrived()
        const pending = get(cli.port, '/slow')
        await arrived
        assert.is(sum(await scrape(metricsPort), 'sticky_peer_in_flight', { peer: slow.address }), 1)
        assert.is((await pending).status, 200)
        // The proxy closes its side of the exchange just after the client has the whole response.
        let after = 1
        for (let i = 0; i < 100 && after !== 0; i += 1) after = sum(await scrape(metricsPort), 'sticky_peer_in_flight', { peer: slow.address })
        assert.is(after, 0)
      } finally {
        cli.kill()
      }
    },
    300,
  )
})

Metrics.run()

async function startTls(args: readonly string[]): Promise<CliProcess & { port: number }> {
  const cli = spawnCli(['--listen', '0', ...args])
  try {
    const match = await cli.waitFor(/listening on https:\/\/127\.0\.0\.1:(\d+)/)
    return Object.assign(cli, { port: Number(match[1]) })
  } catch (error) {
    cli.kill()
    throw error
  }
}

/** The certificate a new TLS client is shown, by its fingerprint. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '')
      socket.end()
    })
    socket.on('error', reject)
  })
}

function h2Get(
  port: number,
  path: string,
  ca: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`https://127.0.0.1:${port}`, { ca })
    session.on('error', reject)
    const stream = session.request({ ':path': path, ...headers })
    let body = ''
    let head: Record<string, unknown> = {}
    stream.setEncoding('utf8')
    stream.on('response', (received) => {
      head = received
    })
    stream.on('data', (chunk: string) => {
      body += chunk
    })
    stream.on('end', () => {
      session.close()
      resolve({ status: Number(head[':status']), headers: head, body })
    })
    stream.on('error', reject)
  })
}

function httpsGet(port: number, path: string, ca: string): Promise<{ status: number; backend: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, backend: res.headers['x-backend'] as string | undefined }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** A WebSocket backend that echoes each message prefixed with its name. */
async function startWebSocketBackend(name: string): Promise<{ address: string; close(): Promise<void> }> {
  const server = createHttpServer((_req, res) => res.writeHead(426).end())
  const wss = new WebSocketServer({ server })
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`${name}: ${String(data)}`)))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate()
        wss.close()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** A `wss://` client: the sticky cookie of the 101, if any, and the echo of one message. */
function wssEcho(port: number, headers: Record<string, string>, message: string): Promise<{ cookie: string | undefined; echo: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`wss://127.0.0.1:${port}/chat`, { ca: TEST_CERT, headers })
    let cookie: string | undefined
    socket.on('upgrade', (response) => {
      cookie = response.headers['set-cookie']?.map((header) => header.split(';')[0] ?? '').find((pair) => pair.startsWith('route='))
    })
    socket.on('open', () => socket.send(message))
    socket.on('message', (data) => {
      socket.close()
      resolve({ cookie, echo: String(data) })
    })
    socket.on('error', reject)
  })
}

const Tls = suite('sticky-proxy --tls-cert --tls-key')

Tls('should serve HTTP/2 and HTTP/1.1 over TLS, pinning an HTTP/2 client', async () => {
  await withTempDir(async (dir) => {
    writeFileSync(join(dir, 'cert.pem'), TEST_CERT)
    writeFileSync(join(dir, 'key.pem'), TEST_KEY)
    await withBackends(['one', 'two'], async (backends) => {
      const cli = await startTls([...upstreams(backends), '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem'), '--quiet'])
      try {
        const first = await h2Get(cli.port, '/', TEST_CERT)
        assert.is(first.status, 200)
        const setCookie = (first.headers['set-cookie'] as string[] | undefined)?.[0] ?? ''
        const cookie = setCookie.split(';')[0] ?? ''
        assert.match(cookie, /^route=[0-9a-f]{32}$/)
        for (let i = 0; i < 3; i += 1) {
          const again = await h2Get(cli.port, '/', TEST_CERT, { cookie })
          assert.is(again.status, 200)
          assert.is(again.headers['x-backend'], first.headers['x-backend'])
        }
        assert.is((await httpsGet(cli.port, '/', TEST_CERT)).status, 200)
      } finally {
        cli.kill()
      }
    })
  })
})

Tls('should show a new TLS client the certificate swapped in by SIGHUP', async () => {
  await withTempDir(async (dir) => {
    const first = writeSelfSigned(dir, 'first')
    const second = writeSelfSigned(dir, 'second')
    const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') }
    const copy = (from: { cert: string; key: string }): void => {
      writeFileSync(live.cert, execFileSync('cat', [from.cert]))
      writeFileSync(live.key, execFileSync('cat', [from.key]))
    }
    copy(first)
    const config = join(dir, 'proxy.yaml')
    await withBackends(['one'], async (backends) => {
      writeFileSync(config, `peers:\n  - ${backends[0]?.address}\ntls:\n  cert: ${live.cert}\n  key: ${live.key}\nlog:\n  quiet: true\n`)
      const cli = await startTls(['--config', config])
      try {
        const fingerprint = (file: string): string => new X509Certificate(execFileSync('cat', [file])).fingerprint256
        assert.is(await servedFingerprint(cli.port), fingerprint(first.cert))
        copy(second)
        cli.child.kill('SIGHUP')
        await cli.waitFor(/SIGHUP: reloaded/, 'stderr')
        assert.is(await servedFingerprint(cli.port), fingerprint(second.cert))
      } finally {
        cli.kill()
      }
    })
  })
})

Tls('should relay a WebSocket upgrade over the HTTPS listener to the pinned peer', async () => {
  await withTempDir(async (dir) => {
    writeFileSync(join(dir, 'cert.pem'), TEST_CERT)
    writeFileSync(join(dir, 'key.pem'), TEST_KEY)
    const backends = await Promise.all(['one', 'two'].map((name) => startWebSocketBackend(name)))
    try {
      const cli = await startTls([
        ...backends.flatMap((backend) => ['--upstream', backend.address]),
        ...['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem'), '--quiet'],
      ])
      try {
        const first = await wssEcho(cli.port, {}, 'hi')
        assert.match(first.cookie ?? '', /^route=[0-9a-f]{32}$/)
        assert.match(first.echo, /^(one|two): hi$/)
        const pinnedTo = first.echo.split(':')[0]
        for (let i = 0; i < 3; i += 1) {
          const again = await wssEcho(cli.port, { cookie: first.cookie ?? '' }, `again ${i}`)
          assert.is(again.echo, `${pinnedTo}: again ${i}`)
        }
      } finally {
        cli.kill()
      }
    } finally {
      await Promise.all(backends.map((backend) => backend.close()))
    }
  })
})

Tls.run()

const Reload = suite('sticky-proxy SIGHUP')

Reload('should add and remove peers from the re-read file while a client of a kept peer keeps its pin', async () => {
  await withTempDir(async (dir) => {
    await withBackends(['a', 'b', 'c'], async ([a, b, c]) => {
      if (a === undefined || b === undefined || c === undefined) throw new Error('backends')
      const config = join(dir, 'proxy.yaml')
      writeFileSync(config, `peers:\n  - ${a.address}\n  - ${b.address}\nlog:\n  quiet: true\n`)
      const cli = await startCli(['--config', config])
      try {
        // The first new client goes to the first peer (round robin from the start).
        const first = await get(cli.port, '/')
        assert.is(first.headers['x-backend'], 'a')
        const cookie = setCookieValue(first, 'route') ?? ''
        writeFileSync(config, `peers:\n  - ${a.address}\n  - ${c.address}\nlog:\n  quiet: true\n`)
        cli.child.kill('SIGHUP')
        await cli.waitFor(/SIGHUP: reloaded .*\(peers \+127\.0\.0\.1:\d+ -127\.0\.0\.1:\d+\)/, 'stderr')
        for (let i = 0; i < 3; i += 1) {
          const pinned = await get(cli.port, '/', { cookie: `route=${cookie}` })
          assert.is(pinned.headers['x-backend'], 'a')
          assert.is(setCookieValue(pinned, 'route'), undefined)
        }
        const seen = new Set<string>()
        for (let i = 0; i < 6; i += 1) seen.add(String((await get(cli.port, '/')).headers['x-backend']))
        assert.equal([...seen].sort(), ['a', 'c'])
      } finally {
        cli.kill()
      }
    })
  })
})

Reload('should keep the running configuration when the re-read file is invalid, naming the key and line', async () => {
  await withTempDir(async (dir) => {
    await withBackends(['a', 'b'], async ([a, b]) => {
      if (a === undefined || b === undefined) throw new Error('backends')
      const config = join(dir, 'proxy.yaml')
      writeFileSync(config, `peers:\n  - ${a.address}\nlog:\n  quiet: true\n`)
      const cli = await startCli(['--config', config])
      try {
        writeFileSync(config, `peers:\n  - ${b.address}\nlog:\n  quiet: maybe\n`)
        cli.child.kill('SIGHUP')
        await cli.waitFor(/SIGHUP: .*:4.*log\.quiet.*; keeping the running configuration\n/, 'stderr')
        for (let i = 0; i < 3; i += 1) assert.is((await get(cli.port, '/')).headers['x-backend'], 'a')
        // A change the running process cannot take over is refused whole, too.
        writeFileSync(config, `peers:\n  - ${b.address}\ncookie:\n  name: other\nlog:\n  quiet: true\n`)
        cli.child.kill('SIGHUP')
        await cli.waitFor(/SIGHUP: .*cookie: changed, which needs a restart; keeping the running configuration\n/, 'stderr')
        assert.is((await get(cli.port, '/')).headers['x-backend'], 'a')
      } finally {
        cli.kill()
      }
    })
  })
})

Reload.run()
