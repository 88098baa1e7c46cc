import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHmac } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { rawClient } from './_raw'
import { get, runCli, setCookieValue, startBackend, startCli, type CliProcess, type TestBackend } from './_cli-process'

const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }

const CommandLine = suite('sticky-proxy command line')

CommandLine('should print the usage on stdout and exit 0 for --help', async () => {
  const { code, stdout, stderr } = await runCli(['--help'])
  assert.is(code, 0)
  assert.match(stdout, /^Usage: sticky-proxy /)
  for (const flag of ['--listen', '--upstream', '--hmac-key-env', '--hmac-key-file', '--no-fallback', '--quiet']) assert.ok(stdout.includes(flag), flag)
  for (const flag of [
    '--token-keys-file',
    '--token-keys-env',
    '--token-max-age',
    '--token-idle',
    '--token-skew',
    '--failover',
    '--strict-status',
    '--route-header',
  ]) {
    assert.ok(stdout.includes(`  ${flag} `), flag)
  }
  assert.is(stderr, '')
})

CommandLine('should print the package version for --version', async () => {
  const { code, stdout } = await runCli(['--version'])
  assert.is(code, 0)
  assert.is(stdout, `sticky-proxy ${pkg.version}\n`)
})

const rejected: ReadonlyArray<readonly [string, readonly string[], RegExp]> = [
  ['a bad duration', ['--upstream', '127.0.0.1:1', '--fail-timeout', 'abc'], /^sticky-proxy: --fail-timeout: expected a duration like 10s, got "abc"$/],
  ['an unknown flag', ['--upstream', '127.0.0.1:1', '--colour'], /^sticky-proxy: --colour: unknown flag/],
  ['no upstream', [], /^sticky-proxy: --upstream: at least one is required/],
  ['an address the core rejects', ['--upstream', '127.0.0.1:99999'], /^sticky-proxy: --upstream: invalid peers\[0\]/],
  [
    'SameSite=None without --secure (a StickyConfigError)',
    ['--upstream', '127.0.0.1:1', '--same-site', 'none'],
    /^sticky-proxy: --same-site: .*cookie\.sameSite/,
  ],
  ['--hmac without a key source', ['--upstream', '127.0.0.1:1', '--hmac', 'sha256'], /^sticky-proxy: --hmac: needs a key/],
  [
    '--hmac-key-env naming an unset variable',
    ['--upstream', '127.0.0.1:1', '--hmac', 'sha256', '--hmac-key-env', 'STICKY_TEST_UNSET'],
    /^sticky-proxy: --hmac-key-env: .*"STICKY_TEST_UNSET" is not set/,
  ],
]
const TOKEN_SECRET = 'c2VjcmV0LW9mLXRoZS1waW4tdG9rZW4ta2V5LWZvci10ZXN0cw'
const tokenRejected: ReadonlyArray<readonly [string, readonly string[], NodeJS.ProcessEnv, RegExp]> = [
  [
    '--token-keys-env naming an unset variable',
    ['--upstream', '127.0.0.1:1', '--token-keys-env', 'STICKY_TEST_UNSET'],
    {},
    /^sticky-proxy: --token-keys-env: environment variable "STICKY_TEST_UNSET" is not set or empty$/,
  ],
  [
    'a token key with a short secret',
    ['--upstream', '127.0.0.1:1', '--token-keys-env', 'KEYS'],
    { KEYS: `a:${TOKEN_SECRET.slice(0, 24)}` },
    /^sticky-proxy: --token-keys-env: environment variable "KEYS" line 1: the secret is 24 bytes/,
  ],
  [
    'a token skew the core rejects',
    ['--upstream', '127.0.0.1:1', '--token-keys-env', 'KEYS', '--token-skew', '2h'],
    { KEYS: `a:${TOKEN_SECRET}` },
    /^sticky-proxy: --token-skew: invalid token\.skew/,
  ],
  ['a route header the core rejects', ['--upstream', '127.0.0.1:1', '--route-header', 'Cookie'], {}, /^sticky-proxy: --route-header: invalid header/],
]
for (const [name, argv, env, message] of tokenRejected) {
  CommandLine(`should exit 2 with one line on stderr, and no secret, for ${name}`, async () => {
    const { code, stdout, stderr } = await runCli(argv, env)
    assert.is(code, 2)
    assert.is(stdout, '')
    assert.ok(stderr.endsWith('\n') && stderr.indexOf('\n') === stderr.length - 1, `one line: ${JSON.stringify(stderr)}`)
    assert.match(stderr.trimEnd(), message)
    assert.not.ok(stderr.includes(TOKEN_SECRET.slice(0, 16)), stderr)
  })
}

for (const [name, argv, message] of rejected) {
  CommandLine(`should exit 2 with one line on stderr for ${name}`, async () => {
    const { code, stdout, stderr } = await runCli(argv)
    assert.is(code, 2)
    assert.is(stdout, '')
    assert.ok(stderr.endsWith('\n') && stderr.indexOf('\n') === stderr.length - 1, `one line: ${JSON.stringify(stderr)}`)
    assert.match(stderr.trimEnd(), message)
  })
}

CommandLine('should reject --hmac-key on argv without echoing the key', async () => {
  const secret = 'do-not-print-this-8c1f'
  for (const argv of [['--hmac-key', secret], [`--hmac-key=${secret}`]]) {
    const { code, stdout, stderr } = await runCli(['--upstream', '127.0.0.1:1', '--hmac', 'sha256', ...argv])
    assert.is(code, 2)
    assert.match(stderr, /^sticky-proxy: --hmac-key: .*--hmac-key-env NAME or --hmac-key-file PATH\n$/)
    assert.not.ok(stderr.includes(secret) || stdout.includes(secret))
  }
})

CommandLine('should exit 1 with one line when the port is taken', async () => {
  const holder = createServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  try {
    const { port } = holder.address() as AddressInfo
    const { code, stderr } = await runCli(['--listen', `127.0.0.1:${port}`, '--upstream', '127.0.0.1:1'])
    assert.is(code, 1)
    assert.match(stderr, new RegExp(`^sticky-proxy: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE\\n$`))
  } finally {
    await new Promise<void>((resolve) => holder.close(() => resolve()))
  }
})

CommandLine.run()

/** Starts backends and the bin, runs `body`, and always stops all of them. */
async function withProxy(
  names: readonly string[],
  flags: readonly string[],
  body: (cli: CliProcess & { port: number }, backends: TestBackend[]) => Promise<void>,
  env: NodeJS.ProcessEnv = {},
): Promise<void> {
  const backends: TestBackend[] = []
  let cli: (CliProcess & { port: number }) | undefined
  try {
    for (const name of names) backends.push(await startBackend(name))
    cli = await startCli([...backends.flatMap((b) => ['--upstream', b.address]), ...flags], env)
    await body(cli, backends)
  } finally {
    cli?.kill()
    await Promise.all(backends.map((b) => b.close()))
  }
}

const Serving = suite('sticky-proxy serving')

Serving('should pin a client to the backend its cookie names and spread new clients', async () => {
  await withProxy(['one', 'two'], [], async (cli) => {
    const first = await get(cli.port, '/a')
    const cookie = setCookieValue(first, 'route')
    assert.is(first.status, 200)
    assert.ok(cookie !== undefined && /^[0-9a-f]{32}$/.test(cookie), `md5 cookie: ${String(cookie)}`)
    const pinnedTo = first.headers['x-backend']
    for (let i = 0; i < 4; i += 1) {
      const again = await get(cli.port, '/b', { cookie: `route=${cookie}` })
      assert.is(again.headers['x-backend'], pinnedTo)
      assert.is(setCookieValue(again, 'route'), undefined)
    }
    const other = await get(cli.port, '/c')
    assert.is.not(other.headers['x-backend'], pinnedTo)
    assert.is.not(setCookieValue(other, 'route'), cookie)
  })
})

/** The packages a process required, read from Node's module debug lines (NODE_DEBUG=module) on stderr. */
function requiredPackages(stderr: string): Set<string> {
  const names = new Set<string>()
  for (const match of stderr.matchAll(/load "[^"]*\/node_modules\/((?:@[^/"]+\/)?[^/"]+)\//g)) names.add(match[1] ?? '')
  return names
}

Serving('should load prom-client, pino and yaml only when --metrics, JSON logs or --config use them', async () => {
  const optional = ['prom-client', 'pino', 'yaml']
  await withProxy(
    ['one'],
    ['--quiet'],
    async (cli) => {
      assert.is((await get(cli.port, '/a')).status, 200)
      const loaded = requiredPackages(cli.stderr())
      // The debug lines are there (undici is the upstream client), and name none of the optional parts.
      assert.ok(loaded.has('undici'), [...loaded].join(', '))
      for (const name of optional) assert.not.ok(loaded.has(name), `${name} loaded by a plain proxy`)
    },
    { NODE_DEBUG: 'module' },
  )
  const dir = mkdtempSync(join(tmpdir(), 'sticky-lazy-'))
  const backend = await startBackend('one')
  try {
    const config = join(dir, 'proxy.yaml')
    writeFileSync(config, `peers: [${backend.address}]\nlog:\n  format: json\nmetrics: 127.0.0.1:0\n`)
    const cli = await startCli(['--config', config], { NODE_DEBUG: 'module' })
    try {
      assert.is((await get(cli.port, '/a')).status, 200)
      const loaded = requiredPackages(cli.stderr())
      for (const name of optional) assert.ok(loaded.has(name), `${name} not loaded: ${[...loaded].join(', ')}`)
    } finally {
      cli.kill()
    }
  } finally {
    await backend.close()
    rmSync(dir, { recursive: true, force: true })
  }
})

Serving('should pass the cookie flags to the Set-Cookie header', async () => {
  await withProxy(
    ['one'],
    ['--cookie-name', 'srv', '--cookie-path', '/app', '--http-only', '--secure', '--same-site', 'strict', '--cookie-expires', '1h'],
    async (cli) => {
      const reply = await get(cli.port, '/app/x')
      const header = (reply.headers['set-cookie'] ?? [])[0] ?? ''
      assert.match(header, /^srv=[0-9a-f]{32}; /)
      for (const attribute of ['Path=/app', 'Max-Age=3600', 'Secure', 'HttpOnly', 'SameSite=Strict'])
        assert.ok(header.includes(attribute), `${attribute} in ${header}`)
    },
  )
})

Serving('should write one access log line per request, without cookie values or query strings', async () => {
  await withProxy(['one'], [], async (cli, [backend]) => {
    const first = await get(cli.port, '/login?token=hush')
    const cookie = setCookieValue(first, 'route') ?? ''
    await get(cli.port, '/cart', { cookie: `route=${cookie}` })
    const address = backend?.address.replace(/\./g, '\\.') ?? ''
    await cli.waitFor(new RegExp(`Z GET /login 200 new ${address} attempts=1 \\d+ms\\n`))
    await cli.waitFor(new RegExp(`Z GET /cart 200 hit ${address} attempts=1 \\d+ms\\n`))
    const lines = cli
      .stdout()
      .split('\n')
      .filter((line) => line !== '')
    assert.is(lines.length, 3, cli.stdout())
    assert.not.ok(cli.stdout().includes(cookie))
    assert.not.ok(cli.stdout().includes('hush'))
  })
})

Serving('should write no access log with --quiet', async () => {
  await withProxy(['one'], ['--quiet'], async (cli) => {
    assert.is((await get(cli.port, '/x')).status, 200)
    assert.is((await get(cli.port, '/y')).status, 200)
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited(), { code: 0, signal: null })
    assert.is(
      cli
        .stdout()
        .split('\n')
        .filter((line) => line !== '').length,
      1,
      cli.stdout(),
    )
    assert.match(cli.stdout(), /^sticky-proxy listening on /)
  })
})

function hmacHex(algorithm: string, key: string, data: string): string {
  return createHmac(algorithm, key).update(data).digest('hex')
}

Serving('should key the HMAC from the variable named by --hmac-key-env', async () => {
  await withProxy(
    ['one'],
    ['--hmac', 'sha256', '--hmac-key-env', 'STICKY_KEY'],
    async (cli, [backend]) => {
      const cookie = setCookieValue(await get(cli.port, '/'), 'route')
      assert.is(cookie, hmacHex('sha256', 'k3y-from-env', backend?.address ?? ''))
    },
    { STICKY_KEY: 'k3y-from-env' },
  )
})

Serving('should key the HMAC from --hmac-key-file, without its trailing newline', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sticky-cli-'))
  try {
    const file = join(dir, 'key')
    writeFileSync(file, 'k3y-from-file\n')
    await withProxy(['one'], ['--hmac', 'sha1', '--hmac-key-file', file], async (cli, [backend]) => {
      const cookie = setCookieValue(await get(cli.port, '/'), 'route')
      assert.is(cookie, hmacHex('sha1', 'k3y-from-file', backend?.address ?? ''))
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

Serving('should answer 502 to a client pinned to a dead backend with --no-fallback', async () => {
  await withProxy(['one', 'two'], ['--no-fallback', '--quiet'], async (cli, backends) => {
    const first = await get(cli.port, '/')
    const cookie = setCookieValue(first, 'route') ?? ''
    await backends.find((b) => b.name === first.headers['x-backend'])?.close()
    const pinned = await get(cli.port, '/', { cookie: `route=${cookie}` })
    assert.is(pinned.status, 502)
  })
})

Serving('should issue pin tokens signed with the first key of --token-keys-file, and keep the pin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sticky-cli-'))
  try {
    const file = join(dir, 'keys')
    writeFileSync(file, `# the first key signs\nk2:${TOKEN_SECRET}-new\n\nk1:${TOKEN_SECRET}-old\n`)
    await withProxy(['one', 'two'], ['--token-keys-file', file, '--token-idle', '1h', '--route-header', 'X-Sticky-Route'], async (cli) => {
      const first = await get(cli.port, '/a')
      const token = setCookieValue(first, 'route') ?? ''
      assert.match(token, /^1\.k2\.[A-Za-z0-9_-]{47}$/)
      assert.is(first.headers['x-sticky-route'], token)
      const pinnedTo = first.headers['x-backend']
      for (let i = 0; i < 4; i += 1) {
        const again = await get(cli.port, '/b', { cookie: `route=${token}` })
        assert.is(again.headers['x-backend'], pinnedTo)
        assert.is(setCookieValue(again, 'route'), undefined)
      }
      // The same token carried in the header instead of a cookie pins too.
      assert.is((await get(cli.port, '/c', { 'x-sticky-route': token })).headers['x-backend'], pinnedTo)
      // A forged token is no pin: the client is assigned afresh and gets a new token.
      const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'AB' : 'AA'}`
      const refused = await get(cli.port, '/d', { cookie: `route=${forged}` })
      assert.match(setCookieValue(refused, 'route') ?? '', /^1\.k2\./)
      assert.is.not(setCookieValue(refused, 'route'), forged)
      assert.not.ok(cli.stdout().includes(TOKEN_SECRET))
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

Serving('should serve a client pinned to a dead backend elsewhere but keep its pin with --failover temporary', async () => {
  await withProxy(
    ['one', 'two'],
    ['--token-keys-env', 'STICKY_KEYS', '--failover', 'temporary', '--quiet'],
    async (cli, backends) => {
      const first = await get(cli.port, '/')
      const token = setCookieValue(first, 'route') ?? ''
      assert.match(token, /^1\.a\./)
      await backends.find((b) => b.name === first.headers['x-backend'])?.close()
      const moved = await get(cli.port, '/', { cookie: `route=${token}` })
      assert.is(moved.status, 200)
      assert.is.not(moved.headers['x-backend'], first.headers['x-backend'])
      assert.is(setCookieValue(moved, 'route'), undefined)
    },
    { STICKY_KEYS: `a:${TOKEN_SECRET}` },
  )
})

Serving('should answer --strict-status 503 to a client pinned to a dead backend with --failover strict', async () => {
  await withProxy(['one', 'two'], ['--failover', 'strict', '--strict-status', '503', '--quiet'], async (cli, backends) => {
    const first = await get(cli.port, '/')
    const cookie = setCookieValue(first, 'route') ?? ''
    await backends.find((b) => b.name === first.headers['x-backend'])?.close()
    // The first request finds the backend dead (a 502 of the failed connection) and marks it failed;
    // from then on the balancer refuses the pinned client itself, with the configured status.
    await get(cli.port, '/', { cookie: `route=${cookie}` })
    const refused = await get(cli.port, '/', { cookie: `route=${cookie}` })
    assert.is(refused.status, 503)
    assert.is(setCookieValue(refused, 'route'), undefined)
  })
})

Serving.run()

const Shutdown = suite('sticky-proxy shutdown')

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  Shutdown(`should stop accepting on ${signal}, finish the request in flight, and exit 0`, async () => {
    await withProxy(['slow'], ['--quiet'], async (cli, [backend]) => {
      if (backend === undefined) throw new Error('no backend')
      const arrived = backend.slowArrived()
      // Settled into a value at once, so that a failure surfaces as this test's assertion, not an unhandled rejection.
      const inFlight = get(cli.port, '/slow').then(
        (reply) => reply,
        (error: Error) => ({ status: 0, body: String(error), headers: {} }),
      )
      await arrived
      cli.child.kill(signal)
      await cli.waitFor(new RegExp(`${signal}: no new connections; waiting for 1 request`), 'stderr')
      const refused = await get(cli.port, '/late').then(
        () => 'served',
        (error: NodeJS.ErrnoException) => error.code,
      )
      assert.is(refused, 'ECONNREFUSED')
      const reply = await inFlight
      assert.is(reply.status, 200)
      assert.is(reply.body, 'hello from slow\n')
      assert.equal(await cli.exited(), { code: 0, signal: null })
    })
  })
}

Shutdown('should close a kept-alive connection after a request that arrives during shutdown, keeping every Set-Cookie', async () => {
  await withProxy(['slow'], ['--quiet'], async (cli, [backend]) => {
    if (backend === undefined) throw new Error('no backend')
    const kept = await rawClient(cli.port)
    const other = await rawClient(cli.port)
    try {
      let arrived = backend.slowArrived()
      const slow = kept.exchange('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
      await arrived
      arrived = backend.slowArrived()
      // Keeps the proxy running after the first connection went idle.
      const slower = other.exchange('GET /slower HTTP/1.1\r\nHost: x\r\n\r\n')
      // Awaited below; marked handled so that an earlier failed assertion does not end the run.
      for (const pending of [slow, slower]) pending.catch(() => undefined)
      await arrived
      cli.child.kill('SIGTERM')
      await cli.waitFor(/SIGTERM: no new connections; waiting for 2 request/, 'stderr')
      // Busy at the signal, so the connection survived it; once idle, a request may still arrive on it.
      assert.is((await slow).status, 200)
      const late = await kept.exchange('GET /cookies HTTP/1.1\r\nHost: x\r\n\r\n')
      assert.is(late.status, 200)
      assert.equal(late.headers.get('connection'), ['close'])
      const cookies = late.headers.get('set-cookie') ?? []
      assert.equal(cookies.slice(0, 2), ['a=1', 'b=2'])
      assert.match(cookies[2] ?? '', /^route=[0-9a-f]{32}; Path=\/$/)
      await kept.closed()
      assert.is((await slower).status, 200)
      assert.equal(await cli.exited(), { code: 0, signal: null })
    } finally {
      kept.close()
      other.close()
    }
  })
})

Shutdown('should exit 0 at once on SIGTERM when nothing is in flight', async () => {
  await withProxy(['one'], [], async (cli) => {
    await get(cli.port, '/')
    cli.child.kill('SIGTERM')
    assert.equal(await cli.exited(), { code: 0, signal: null })
  })
})

Shutdown.run()
