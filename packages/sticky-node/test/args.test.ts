import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { fastCheckSeed } from 'sticky-conformance'
import { createBalancer } from 'sticky-core'
import {
  CliUsageError,
  DEFAULT_LISTEN,
  flagForOption,
  USAGE,
  parseCommandLine,
  parseListen,
  parseServeFlags,
  parseUpstream,
  readHmacKey,
  readTokenKeys,
  type CliCommand,
  type ServeFlags,
} from '../src/args'
import { loadServePlan } from '../src/serve-plan'

const seed = fastCheckSeed('args.test')
const UP = ['--upstream', '127.0.0.1:9001']

function serve(argv: readonly string[]): ServeFlags {
  const command: CliCommand = parseCommandLine(argv)
  if (command.kind !== 'serve') throw new Error(`expected serve, got ${command.kind}`)
  assert.equal(command.argv, argv)
  return parseServeFlags(argv)
}

function usageError(run: () => unknown): CliUsageError {
  try {
    run()
  } catch (error) {
    if (error instanceof CliUsageError) return error
    throw error
  }
  throw new Error('expected a CliUsageError')
}

const ParseCommandLine = suite('parseCommandLine')

const commands: ReadonlyArray<readonly [readonly string[], CliCommand['kind']]> = [
  [['--help'], 'help'],
  [['-h'], 'help'],
  [['--upstream', 'x:1', '--help'], 'help'],
  [['--bogus', '--help'], 'help'],
  [['--listen', 'nope', '-h'], 'help'],
  [['--version', '--help'], 'help'],
  [['--bogus', '--version'], 'version'],
  [['demo', '--help'], 'help'],
  [['--version'], 'version'],
  [['-v'], 'version'],
  [['demo'], 'demo'],
  [UP, 'serve'],
]
for (const [argv, kind] of commands) {
  ParseCommandLine(`should read ${JSON.stringify(argv)} as the ${kind} command`, () => {
    assert.is(parseCommandLine(argv).kind, kind)
  })
}

ParseCommandLine('should leave every flag not given undefined, for the config file to supply', () => {
  const config = serve(UP)
  assert.equal(config, {
    config: undefined,
    listen: undefined,
    peers: [{ address: '127.0.0.1:9001' }],
    peerDefaults: { maxFails: undefined, failTimeout: undefined },
    cookie: {},
    hash: undefined,
    hmac: undefined,
    token: undefined,
    fallback: undefined,
    failover: undefined,
    strictStatus: undefined,
    routeHeader: undefined,
    refresh: undefined,
    legacy: undefined,
    timeout: undefined,
    retries: undefined,
    trustProxy: undefined,
    xForwarded: undefined,
    requestId: undefined,
    healthCheck: {},
    tls: undefined,
    logFormat: undefined,
    quiet: undefined,
    metrics: undefined,
    workers: undefined,
    grace: undefined,
  })
  assert.equal(DEFAULT_LISTEN, { host: '127.0.0.1', port: 8080 })
})

const flags: ReadonlyArray<readonly [string, readonly string[], (config: ServeFlags) => unknown, unknown]> = [
  ['--listen PORT', ['--listen', '0'], (c) => c.listen, { host: '127.0.0.1', port: 0 }],
  ['--listen=HOST:PORT', ['--listen=0.0.0.0:8080'], (c) => c.listen, { host: '0.0.0.0', port: 8080 }],
  [
    '--upstream (repeated)',
    ['--upstream', 'a:1', '--upstream=b:2=3,backup'],
    (c) => c.peers?.slice(1),
    [{ address: 'a:1' }, { address: 'b:2', weight: 3, backup: true }],
  ],
  ['--cookie-name', ['--cookie-name', 'srv'], (c) => c.cookie, { name: 'srv' }],
  ['--cookie-path', ['--cookie-path', '/app'], (c) => c.cookie, { path: '/app' }],
  ['--cookie-domain', ['--cookie-domain', '.example.com'], (c) => c.cookie, { domain: '.example.com' }],
  ['--cookie-expires duration', ['--cookie-expires', '1h'], (c) => c.cookie, { expires: 3600 }],
  ['--cookie-expires bare seconds', ['--cookie-expires', '90'], (c) => c.cookie, { expires: 90 }],
  ['--cookie-expires max', ['--cookie-expires', 'max'], (c) => c.cookie, { expires: 'max' }],
  ['--secure', ['--secure'], (c) => c.cookie, { secure: true }],
  ['--http-only', ['--http-only'], (c) => c.cookie, { httpOnly: true }],
  ['--same-site strict', ['--same-site', 'strict'], (c) => c.cookie, { sameSite: 'Strict' }],
  ['--same-site Lax', ['--same-site', 'Lax'], (c) => c.cookie, { sameSite: 'Lax' }],
  ['--same-site none', ['--same-site', 'none', '--secure'], (c) => c.cookie, { secure: true, sameSite: 'None' }],
  ['--partitioned', ['--partitioned', '--secure'], (c) => c.cookie, { secure: true, partitioned: true }],
  ['--hash md5', ['--hash', 'md5'], (c) => c.hash, 'md5'],
  ['--hash sha1', ['--hash', 'sha1'], (c) => c.hash, 'sha1'],
  ['--hash index', ['--hash', 'index'], (c) => c.hash, 'index'],
  ['--hash raw', ['--hash', 'raw'], (c) => c.hash, 'raw'],
  ['--hmac with --hmac-key-env', ['--hmac', 'sha256', '--hmac-key-env', 'KEY'], (c) => c.hmac, { algorithm: 'sha256', key: { kind: 'env', name: 'KEY' } }],
  ['--hmac with --hmac-key-file', ['--hmac', 'md5', '--hmac-key-file', '/k'], (c) => c.hmac, { algorithm: 'md5', key: { kind: 'file', path: '/k' } }],
  ['--hmac sha1', ['--hmac', 'sha1', '--hmac-key-env', 'K'], (c) => c.hmac?.algorithm, 'sha1'],
  ['--no-fallback', ['--no-fallback'], (c) => c.fallback, false],
  ['--refresh assign', ['--refresh', 'assign'], (c) => c.refresh, 'assign'],
  ['--refresh always', ['--refresh', 'always'], (c) => c.refresh, 'always'],
  ['--legacy', ['--legacy'], (c) => c.legacy, true],
  ['--max-fails (applied to every upstream)', ['--max-fails', '3', '--upstream', 'b:2'], (c) => c.peers?.map((p) => p.maxFails), [3, 3]],
  ['--fail-timeout (applied to every upstream)', ['--fail-timeout', '30s'], (c) => c.peers?.map((p) => p.failTimeout), [30_000]],
  ['--max-fails 0 (tracking off)', ['--max-fails', '0'], (c) => c.peers?.[0]?.maxFails, 0],
  ['--timeout', ['--timeout', '1m'], (c) => c.timeout, 60_000],
  ['--timeout 0 (no limit)', ['--timeout', '0'], (c) => c.timeout, 0],
  ['--retries', ['--retries', '2'], (c) => c.retries, 2],
  ['--retries 0', ['--retries', '0'], (c) => c.retries, 0],
  ['--quiet', ['--quiet'], (c) => c.quiet, true],
  ['--config', ['--config', 'proxy.yaml'], (c) => c.config, 'proxy.yaml'],
  ['--tls-cert with --tls-key', ['--tls-cert', 'c.pem', '--tls-key', 'k.pem'], (c) => c.tls, { cert: 'c.pem', key: 'k.pem' }],
  ['--trust-proxy', ['--trust-proxy', 'loopback,10.0.0.0/8'], (c) => c.trustProxy, 'loopback,10.0.0.0/8'],
  ['--no-x-forwarded', ['--no-x-forwarded'], (c) => c.xForwarded, false],
  ['--no-request-id', ['--no-request-id'], (c) => c.requestId, false],
  ['--health-check', ['--health-check', '/healthz'], (c) => c.healthCheck, { path: '/healthz' }],
  [
    '--health-* together',
    [
      '--health-check',
      '/h',
      '--health-interval',
      '2s',
      '--health-timeout',
      '500ms',
      '--health-expect',
      '200,204',
      '--health-rises',
      '1',
      '--health-falls',
      '5',
    ],
    (c) => c.healthCheck,
    { path: '/h', interval: 2_000, timeout: 500, expect: '200,204', rises: 1, falls: 5 },
  ],
  ['--health-expect range', ['--health-check', '/h', '--health-expect', '200-399'], (c) => c.healthCheck.expect, '200-399'],
  ['--log-format json', ['--log-format', 'json'], (c) => c.logFormat, 'json'],
  ['--log-format text', ['--log-format', 'text'], (c) => c.logFormat, 'text'],
  ['--metrics', ['--metrics', '127.0.0.1:9100'], (c) => c.metrics, { host: '127.0.0.1', port: 9100 }],
  ['--metrics PORT', ['--metrics', '9100'], (c) => c.metrics, { host: '127.0.0.1', port: 9100 }],
  ['--workers N', ['--workers', '4'], (c) => c.workers, 4],
  ['--workers auto', ['--workers', 'auto'], (c) => c.workers, 'auto'],
  ['--grace', ['--grace', '30s'], (c) => c.grace, 30_000],
  ['--grace 0', ['--grace', '0'], (c) => c.grace, 0],
  ['no token flag', [], (c) => c.token, undefined],
  [
    '--token-keys-file',
    ['--token-keys-file', '/keys'],
    (c) => c.token,
    { keys: { kind: 'file', path: '/keys' }, maxAge: undefined, idle: undefined, skew: undefined },
  ],
  ['--token-keys-env', ['--token-keys-env', 'KEYS'], (c) => c.token?.keys, { kind: 'env', name: 'KEYS' }],
  ['--token-max-age', ['--token-keys-env', 'K', '--token-max-age', '7d'], (c) => c.token?.maxAge, 604_800],
  ['--token-max-age bare seconds', ['--token-keys-env', 'K', '--token-max-age', '90'], (c) => c.token?.maxAge, 90],
  ['--token-idle', ['--token-keys-env', 'K', '--token-idle', '30m'], (c) => c.token?.idle, 1_800],
  ['--token-skew', ['--token-keys-env', 'K', '--token-skew', '1m'], (c) => c.token?.skew, 60],
  ['--token-skew 0', ['--token-keys-env', 'K', '--token-skew', '0'], (c) => c.token?.skew, 0],
  ['--failover repin', ['--failover', 'repin'], (c) => c.failover, 'repin'],
  ['--failover temporary', ['--failover', 'temporary'], (c) => c.failover, 'temporary'],
  ['--failover strict', ['--failover', 'strict'], (c) => c.failover, 'strict'],
  ['--failover persist', ['--failover', 'persist'], (c) => c.failover, 'persist'],
  ['--strict-status 503', ['--failover', 'strict', '--strict-status', '503'], (c) => c.strictStatus, 503],
  ['--strict-status 502 with --no-fallback', ['--no-fallback', '--strict-status', '502'], (c) => c.strictStatus, 502],
  ['--route-header', ['--route-header', 'X-Sticky-Route'], (c) => c.routeHeader, 'X-Sticky-Route'],
  ['-- before nothing', ['--'], (c) => c.peers?.length, 1],
]
for (const [name, argv, pick, expected] of flags) {
  ParseCommandLine(`should read ${name}`, () => {
    assert.equal(pick(serve([...UP, ...argv])), expected)
  })
}

const errors: ReadonlyArray<readonly [readonly string[], string, RegExp]> = [
  [[], '--upstream', /at least one/],
  [[...UP, '--bogus'], '--bogus', /unknown flag/],
  [[...UP, '-x'], '-x', /unknown flag/],
  [[...UP, '--hmac-key', 'secret'], '--hmac-key', /--hmac-key-env/],
  [[...UP, '--hmac-key=secret'], '--hmac-key', /ps and shell history/],
  [[...UP, '--listen'], '--listen', /expected a value/],
  [[...UP, '--listen', '--quiet'], '--listen', /expected a value/],
  [[...UP, '--listen', 'nope'], '--listen', /expected PORT/],
  [[...UP, '--listen', '70000'], '--listen', /"70000"/],
  [[...UP, '--listen', '1', '--listen', '2'], '--listen', /more than once/],
  [[...UP, '--quiet', '--quiet'], '--quiet', /more than once/],
  [[...UP, '--secure=yes'], '--secure', /takes no value/],
  [[...UP, '--cookie-expires', 'soon'], '--cookie-expires', /expected a duration like 1h or "max", got "soon"/],
  [[...UP, '--cookie-expires', '0'], '--cookie-expires', /at least 1s/],
  [[...UP, '--cookie-expires', '1500ms'], '--cookie-expires', /whole number of seconds/],
  [[...UP, '--same-site', 'sometimes'], '--same-site', /expected strict, lax or none/],
  [[...UP, '--hash', 'crc32'], '--hash', /md5, sha1, index, raw; got "crc32"/],
  [[...UP, '--hmac', 'sha512', '--hmac-key-env', 'K'], '--hmac', /md5, sha1, sha256/],
  [[...UP, '--hmac', 'md5'], '--hmac', /needs a key/],
  [[...UP, '--hmac', 'md5', '--hash', 'sha1', '--hmac-key-env', 'K'], '--hmac', /cannot be combined with --hash/],
  [[...UP, '--hmac', 'md5', '--hmac-key-env', 'K', '--hmac-key-file', 'f'], '--hmac-key-file', /choose one/],
  [[...UP, '--hmac-key-env', 'K'], '--hmac-key-env', /needs --hmac/],
  [[...UP, '--hmac-key-file', 'f'], '--hmac-key-file', /needs --hmac/],
  [[...UP, '--refresh', 'sometimes'], '--refresh', /assign, always/],
  [[...UP, '--max-fails', '-1'], '--max-fails', /expected a value/],
  [[...UP, '--max-fails', 'three'], '--max-fails', /whole number/],
  [[...UP, '--fail-timeout', 'abc'], '--fail-timeout', /^--fail-timeout: expected a duration like 10s, got "abc"$/],
  [[...UP, '--timeout', '1h1h'], '--timeout', /expected a duration/],
  [[...UP, '--timeout', '1.5s'], '--timeout', /expected a duration/],
  [[...UP, '--retries', 'x'], '--retries', /whole number/],
  [[...UP, 'serve'], 'command', /unknown command "serve"/],
  [['demo', 'now'], 'command', /unexpected argument "now"/],
  [['demo', '--quiet'], '--quiet', /demo takes no flags/],
  [['--upstream', ''], '--upstream', /expected ADDRESS/],
  [['--upstream', 'a:1,heavy'], '--upstream', /unknown parameter "heavy"/],
  [['--upstream', 'a:1=0'], '--upstream', /weight/],
  [[...UP, '--token-keys-file', 'f', '--token-keys-env', 'K'], '--token-keys-file', /choose one/],
  [[...UP, '--token-keys-file', 'f', '--token-keys-file', 'g'], '--token-keys-file', /more than once/],
  [[...UP, '--token-keys-env'], '--token-keys-env', /expected a value/],
  [[...UP, '--token-max-age', '1d'], '--token-max-age', /needs the token keys/],
  [[...UP, '--token-idle', '1h'], '--token-idle', /needs the token keys/],
  [[...UP, '--token-skew', '5s'], '--token-skew', /needs the token keys/],
  [[...UP, '--token-keys-env', 'K', '--token-max-age', 'forever'], '--token-max-age', /whole seconds/],
  [[...UP, '--token-keys-env', 'K', '--token-max-age', '0'], '--token-max-age', /at least 1s/],
  [[...UP, '--token-keys-env', 'K', '--token-idle', '1500ms'], '--token-idle', /whole seconds/],
  [[...UP, '--token-keys-env', 'K', '--token-skew', 'x'], '--token-skew', /whole seconds/],
  [[...UP, '--token-keys-file', 'f', '--hash', 'sha1'], '--token-keys-file', /cannot be combined with --hash/],
  [[...UP, '--token-keys-env', 'K', '--hmac', 'sha256', '--hmac-key-env', 'H'], '--token-keys-env', /cannot be combined with --hmac/],
  [[...UP, '--token-keys-env', 'K', '--legacy'], '--token-keys-env', /cannot be combined with --legacy/],
  [[...UP, '--failover', 'elsewhere'], '--failover', /repin, temporary, strict, persist/],
  [[...UP, '--failover', 'strict', '--no-fallback'], '--failover', /--no-fallback/],
  [[...UP, '--failover', 'strict', '--strict-status', '500'], '--strict-status', /502 or 503/],
  [[...UP, '--strict-status', '503'], '--strict-status', /--failover strict only/],
  [[...UP, '--failover', 'repin', '--strict-status', '503'], '--strict-status', /--failover strict only/],
  [[...UP, '--route-header'], '--route-header', /expected a value/],
  [[...UP, '--config'], '--config', /expected a value/],
  [[...UP, '--tls-cert', 'c.pem'], '--tls-cert', /--tls-cert FILE and --tls-key FILE together/],
  [[...UP, '--tls-key', 'k.pem'], '--tls-key', /--tls-cert FILE and --tls-key FILE together/],
  [[...UP, '--trust-proxy', '10.0.0.1/33'], '--trust-proxy', /^--trust-proxy: expected a prefix length from 0 to 32 after the slash, got "10.0.0.1\/33"$/],
  [[...UP, '--trust-proxy', 'loopback,anyone'], '--trust-proxy', /expected a CIDR .*, got "anyone"$/],
  [[...UP, '--no-x-forwarded=1'], '--no-x-forwarded', /takes no value/],
  [[...UP, '--no-request-id=1'], '--no-request-id', /takes no value/],
  [[...UP, '--health-check', 'healthz'], '--health-check', /path starting with \//],
  [[...UP, '--health-check', '/h', '--health-interval', 'often'], '--health-interval', /expected a duration/],
  [[...UP, '--health-check', '/h', '--health-timeout', 'x'], '--health-timeout', /expected a duration/],
  [[...UP, '--health-check', '/h', '--health-expect', '99'], '--health-expect', /200-399/],
  [[...UP, '--health-check', '/h', '--health-rises', '0'], '--health-rises', /at least 1/],
  [[...UP, '--health-check', '/h', '--health-falls', 'three'], '--health-falls', /whole number/],
  [[...UP, '--log-format', 'xml'], '--log-format', /text, json; got "xml"/],
  [[...UP, '--metrics', 'nope'], '--metrics', /HOST:PORT/],
  [[...UP, '--workers', '0'], '--workers', /1 to 1024 or auto, got "0"/],
  [[...UP, '--workers', '1025'], '--workers', /1 to 1024 or auto/],
  [[...UP, '--workers', 'many'], '--workers', /or auto, got "many"/],
  [[...UP, '--grace', 'soon'], '--grace', /expected a duration like 10s, got "soon"/],
]
for (const [argv, flag, message] of errors) {
  ParseCommandLine(`should reject ${JSON.stringify(argv)} naming ${flag}`, () => {
    const error = usageError(() => parseCommandLine(argv))
    assert.is(error.flag, flag)
    assert.ok(error.message.startsWith(`${flag}: `), error.message)
    assert.match(error.message, message)
    assert.not.match(error.message, /\n/)
  })
}

ParseCommandLine('should either parse or throw a one-line CliUsageError for any argv', () => {
  const word = fc.oneof(
    fc.constantFrom('--listen', '--upstream', '--hash', '--hmac', '--quiet', '--secure', '--timeout', 'demo', '--', '-h', '1s', '127.0.0.1:1'),
    fc.string({ maxLength: 12 }),
  )
  fc.assert(
    fc.property(fc.array(word, { maxLength: 8 }), (argv) => {
      try {
        parseCommandLine(argv)
        return true
      } catch (error) {
        return error instanceof CliUsageError && !error.message.includes('\n') && error.message.startsWith(`${error.flag}: `)
      }
    }),
    { seed },
  )
})

ParseCommandLine('should never echo a key given on the command line', () => {
  const fixedText = usageError(() => parseCommandLine([...UP, '--hmac-key', 'x'])).message
  const secrets = fc.string({ minLength: 4, maxLength: 20 }).filter((s) => !s.startsWith('-') && !fixedText.includes(s))
  fc.assert(
    fc.property(secrets, fc.boolean(), (secret, inline) => {
      const argv = inline ? [...UP, `--hmac-key=${secret}`] : [...UP, '--hmac-key', secret]
      const error = usageError(() => parseCommandLine(argv))
      return error.flag === '--hmac-key' && !error.message.includes(secret)
    }),
    { seed },
  )
})

ParseCommandLine.run()

const ParseListen = suite('parseListen')

const listens: ReadonlyArray<readonly [string, { host: string; port: number }]> = [
  ['8080', { host: '127.0.0.1', port: 8080 }],
  ['0', { host: '127.0.0.1', port: 0 }],
  ['localhost:3000', { host: 'localhost', port: 3000 }],
  ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
  ['[::1]:8080', { host: '::1', port: 8080 }],
  ['[::]:65535', { host: '::', port: 65535 }],
]
for (const [text, expected] of listens) {
  ParseListen(`should read ${JSON.stringify(text)}`, () => {
    assert.equal(parseListen(text), expected)
  })
}

for (const text of ['', ':80', 'host:', '::1:80', 'a:b', '65536', 'h:123456', ' 80', '[::1]', 'a b:1']) {
  ParseListen(`should reject ${JSON.stringify(text)}`, () => {
    assert.is(usageError(() => parseListen(text)).flag, '--listen')
  })
}

ParseListen('should round-trip HOST:PORT for any hostname and port', () => {
  const host = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/)
  fc.assert(
    fc.property(host, fc.integer({ min: 0, max: 65_535 }), (h, port) => {
      const parsed = parseListen(`${h}:${port}`)
      return parsed.host === h && parsed.port === port
    }),
    { seed },
  )
})

ParseListen.run()

const ParseUpstream = suite('parseUpstream')
const noDefaults = { maxFails: undefined, failTimeout: undefined }

const upstreams: ReadonlyArray<readonly [string, object]> = [
  ['127.0.0.1:9001', { address: '127.0.0.1:9001' }],
  ['127.0.0.1:9001=2', { address: '127.0.0.1:9001', weight: 2 }],
  ['127.0.0.1:9003=1,backup', { address: '127.0.0.1:9003', weight: 1, backup: true }],
  ['[::1]:9001,weight=5,down', { address: '[::1]:9001', weight: 5, down: true }],
  ['http://app.internal:8080,drain', { address: 'http://app.internal:8080', drain: true }],
  ['unix:/run/app.sock,route=a', { address: 'unix:/run/app.sock', route: 'a' }],
  ['a:1,max-fails=3,fail-timeout=30s', { address: 'a:1', maxFails: 3, failTimeout: 30_000 }],
  ['a:1,max_fails=0,fail_timeout=1m', { address: 'a:1', maxFails: 0, failTimeout: 60_000 }],
]
for (const [text, expected] of upstreams) {
  ParseUpstream(`should read ${JSON.stringify(text)}`, () => {
    assert.equal(parseUpstream(text, noDefaults), expected)
  })
}

ParseUpstream('should let an upstream override the global max-fails and fail-timeout', () => {
  const defaults = { maxFails: 2, failTimeout: 5_000 }
  assert.equal(parseUpstream('a:1', defaults), { address: 'a:1', maxFails: 2, failTimeout: 5_000 })
  assert.equal(parseUpstream('a:1,max-fails=7,fail-timeout=1s', defaults), { address: 'a:1', maxFails: 7, failTimeout: 1_000 })
})

for (const text of ['a:1,weight=0', 'a:1,weight=x', 'a:1,max-fails=x', 'a:1,fail-timeout=soon', 'a:1,route=', 'a:1,backup=yes', 'a:1,']) {
  ParseUpstream(`should reject ${JSON.stringify(text)}`, () => {
    const error = usageError(() => parseUpstream(text, noDefaults))
    assert.is(error.flag, '--upstream')
  })
}

ParseUpstream('should keep the address and weight of any ADDRESS=WEIGHT', () => {
  const address = fc.stringMatching(/^[a-z0-9.:[\]/]{1,30}$/)
  fc.assert(
    fc.property(address, fc.integer({ min: 1, max: 999_999 }), fc.boolean(), (a, weight, backup) => {
      const peer = parseUpstream(`${a}=${weight}${backup ? ',backup' : ''}`, noDefaults)
      return peer.address === a && peer.weight === weight && (peer.backup === true) === backup
    }),
    { seed },
  )
})

ParseUpstream('should either parse or throw a CliUsageError for any text', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (text) => {
      try {
        return parseUpstream(text, noDefaults).address.length > 0
      } catch (error) {
        return error instanceof CliUsageError && error.flag === '--upstream'
      }
    }),
    { seed },
  )
})

ParseUpstream.run()

const ReadHmacKey = suite('readHmacKey')
const encode = (text: string): Uint8Array => new TextEncoder().encode(text)
const noFile = (): Uint8Array => {
  throw Object.assign(new Error('no such file'), { code: 'ENOENT' })
}

ReadHmacKey('should read the key from the named environment variable', () => {
  assert.is(readHmacKey({ kind: 'env', name: 'K' }, { env: { K: 's3cret' }, readFile: noFile }), 's3cret')
})

for (const env of [{}, { K: '' }]) {
  ReadHmacKey(`should reject a variable that is ${'K' in env ? 'empty' : 'unset'}`, () => {
    const error = usageError(() => readHmacKey({ kind: 'env', name: 'K' }, { env, readFile: noFile }))
    assert.is(error.flag, '--hmac-key-env')
    assert.match(error.message, /"K"/)
  })
}

const files: ReadonlyArray<readonly [string, string]> = [
  ['s3cret', 's3cret'],
  ['s3cret\n', 's3cret'],
  ['s3cret\r\n', 's3cret'],
  ['two\nlines\n', 'two\nlines'],
  [' spaced ', ' spaced '],
]
for (const [content, key] of files) {
  ReadHmacKey(`should read ${JSON.stringify(content)} from a file as ${JSON.stringify(key)}`, () => {
    const read = readHmacKey({ kind: 'file', path: '/k' }, { env: {}, readFile: (path) => (path === '/k' ? encode(content) : noFile()) })
    assert.equal(Buffer.from(read).toString('utf8'), key)
  })
}

for (const [name, readFile, message] of [
  ['unreadable', noFile, /cannot read "\/k" \(ENOENT\)/],
  ['empty', () => encode(''), /is empty/],
  ['only a newline', () => encode('\n'), /is empty/],
] as const) {
  ReadHmacKey(`should reject a key file that is ${name}`, () => {
    const error = usageError(() => readHmacKey({ kind: 'file', path: '/k' }, { env: {}, readFile }))
    assert.is(error.flag, '--hmac-key-file')
    assert.match(error.message, message)
  })
}

ReadHmacKey('should return any non-empty file minus one trailing line break', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.constantFrom('', '\n', '\r\n'), (body, ending) => {
      fc.pre(body[body.length - 1] !== 0x0a && body[body.length - 1] !== 0x0d)
      const file = new Uint8Array([...body, ...encode(ending)])
      const key = readHmacKey({ kind: 'file', path: 'k' }, { env: {}, readFile: () => file })
      return Buffer.from(key).equals(Buffer.from(body))
    }),
    { seed },
  )
})

ReadHmacKey.run()

const ReadTokenKeys = suite('readTokenKeys')
const SECRET_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa='
const SECRET_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'

ReadTokenKeys('should read id:secret lines from a file, skipping blank lines and comments, first key first', () => {
  const file = `# rotated 2026-05\r\nnew:${SECRET_A}\r\n\n   \n  old : ${SECRET_B}:with-colon \n`
  const keys = readTokenKeys({ kind: 'file', path: '/k' }, { env: {}, readFile: (path) => (path === '/k' ? encode(file) : noFile()) })
  assert.equal(keys, [
    { id: 'new', secret: SECRET_A },
    { id: 'old', secret: `${SECRET_B}:with-colon` },
  ])
})

ReadTokenKeys('should read the same lines from the named environment variable', () => {
  assert.equal(readTokenKeys({ kind: 'env', name: 'KEYS' }, { env: { KEYS: `a:${SECRET_A}\nb:${SECRET_B}` }, readFile: noFile }), [
    { id: 'a', secret: SECRET_A },
    { id: 'b', secret: SECRET_B },
  ])
})

for (const env of [{}, { KEYS: '' }, { KEYS: ' \n' }]) {
  ReadTokenKeys(`should name --token-keys-env when the variable is ${JSON.stringify(env.KEYS)}`, () => {
    const error = usageError(() => readTokenKeys({ kind: 'env', name: 'KEYS' }, { env, readFile: noFile }))
    assert.is(error.flag, '--token-keys-env')
    assert.match(error.message, /"KEYS" is not set or empty/)
  })
}

ReadTokenKeys('should name --token-keys-file when the file cannot be read', () => {
  const error = usageError(() => readTokenKeys({ kind: 'file', path: '/missing' }, { env: {}, readFile: noFile }))
  assert.is(error.flag, '--token-keys-file')
  assert.match(error.message, /cannot read "\/missing" \(ENOENT\)/)
})

const SECRET = 'Zm9vYmFyLXRoaXMtaXMtdGhlLXNlY3JldC1vZi10aGUta2V5'
const badKeys: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['no key', '# nothing here\n\n', /holds no key/],
  ['no colon', `\n${SECRET}`, /line 2: expected id:secret/],
  ['an empty id', `:${SECRET}`, /line 1: the key id must be 1 to 8/],
  ['a long id', `abcdefghi:${SECRET}`, /line 1: the key id must be 1 to 8/],
  ['the secret where the id goes', `${SECRET}:a`, /line 1: the key id must be 1 to 8/],
  ['a repeated id', `a:${SECRET}\nb:${SECRET}\na:${SECRET}`, /line 3: the same key id as line 1/],
  ['a short secret', `a:${SECRET.slice(0, 31)}`, /line 1: the secret is 31 bytes; at least 32/],
]
for (const [name, text, message] of badKeys) {
  ReadTokenKeys(`should refuse ${name}, naming the flag and never the secret`, () => {
    for (const [source, flag] of [
      [{ kind: 'file', path: '/k' }, '--token-keys-file'],
      [{ kind: 'env', name: 'K' }, '--token-keys-env'],
    ] as const) {
      const error = usageError(() => readTokenKeys(source, { env: { K: text }, readFile: () => encode(text) }))
      assert.is(error.flag, flag)
      assert.match(error.message, message)
      assert.not.ok(error.message.includes(SECRET.slice(0, 16)), error.message)
    }
  })
}

ReadTokenKeys.run()

const FlagsPlan = suite('loadServePlan from flags only')
const planIo = (env: Record<string, string> = {}) => ({ env, readFile: noFile as unknown as (path: string) => Buffer, cpus: () => 3 })
const optionsOf = (argv: readonly string[], env?: Record<string, string>) => {
  const plan = loadServePlan(argv, planIo(env))
  assert.is(plan.routes.length, 1)
  assert.is(plan.routes[0]?.path, '/')
  return plan.routes[0]?.options as Record<string, unknown>
}

FlagsPlan('should carry every balancer setting of the command line', () => {
  assert.equal(optionsOf([...UP, '--hash', 'sha1', '--no-fallback', '--refresh', 'always', '--legacy', '--cookie-name', 'srv', '--secure']), {
    peers: [{ address: '127.0.0.1:9001' }],
    cookie: { name: 'srv', secure: true },
    hash: 'sha1',
    fallback: false,
    refresh: 'always',
    legacy: true,
    proxy: { requestId: true },
  })
})

FlagsPlan('should put the loaded key into the hmac option', () => {
  const options = optionsOf([...UP, '--hmac', 'sha256', '--hmac-key-env', 'K'], { K: 'key' })
  assert.equal(options.hmac, { algorithm: 'sha256', key: 'key' })
  assert.is(options.hash, undefined)
})

FlagsPlan('should put the loaded token keys and lifetimes into the token option, without legacy', () => {
  const env = { K: `a:${SECRET_A}` }
  const options = optionsOf([...UP, '--token-keys-env', 'K', '--token-max-age', '1d', '--token-idle', '1h', '--token-skew', '10s'], env)
  const keys = [{ id: 'a', secret: SECRET_A }]
  assert.equal(options.token, { keys, maxAge: 86_400, idle: 3_600, skew: 10 })
  assert.not.ok('legacy' in options)
  assert.not.ok('hash' in options)
  assert.equal(optionsOf([...UP, '--token-keys-env', 'K'], env).token, { keys })
})

FlagsPlan('should pass --failover in place of fallback, with --strict-status and --route-header', () => {
  const options = optionsOf([...UP, '--failover', 'strict', '--strict-status', '503', '--route-header', 'X-Pin'])
  assert.is(options.failover, 'strict')
  assert.not.ok('fallback' in options)
  assert.is(options.strictStatus, 503)
  assert.is(options.header, 'X-Pin')
  const plain = optionsOf(UP)
  assert.not.ok('failover' in plain || 'fallback' in plain || 'strictStatus' in plain || 'header' in plain)
})

FlagsPlan('should turn request IDs on by default, and pass the proxy flags', () => {
  assert.equal(optionsOf(UP).proxy, { requestId: true })
  assert.equal(optionsOf([...UP, '--no-request-id', '--no-x-forwarded', '--trust-proxy', 'loopback', '--timeout', '5s', '--retries', '1']).proxy, {
    requestId: false,
    xForwarded: false,
    trustProxy: 'loopback',
    timeout: 5_000,
    retries: 1,
  })
})

FlagsPlan('should pass the health check, and refuse its settings without a path', () => {
  assert.equal(optionsOf([...UP, '--health-check', '/hz', '--health-falls', '2']).healthCheck, { path: '/hz', falls: 2 })
  assert.match(usageError(() => optionsOf([...UP, '--health-interval', '2s'])).message, /^--health-interval: needs --health-check PATH/)
})

FlagsPlan('should fill the operator settings with their defaults, and resolve --workers auto', () => {
  const plan = loadServePlan(UP, planIo())
  assert.equal(
    { listen: plan.listen, tls: plan.tls, log: plan.log, metrics: plan.metrics, workers: plan.workers, grace: plan.grace, configFile: plan.configFile },
    { listen: DEFAULT_LISTEN, tls: undefined, log: { format: 'text', quiet: false }, metrics: undefined, workers: 1, grace: 10_000, configFile: undefined },
  )
  const other = loadServePlan(
    [...UP, '--workers', 'auto', '--grace', '2s', '--log-format', 'json', '--quiet', '--metrics', '9100', '--tls-cert', 'c', '--tls-key', 'k'],
    planIo(),
  )
  assert.equal(
    { tls: other.tls, log: other.log, metrics: other.metrics, workers: other.workers, grace: other.grace },
    { tls: { cert: 'c', key: 'k' }, log: { format: 'json', quiet: true }, metrics: { host: '127.0.0.1', port: 9100 }, workers: 3, grace: 2_000 },
  )
})

FlagsPlan('should give options that createBalancer accepts, issuing tokens signed by the first key', () => {
  const options = optionsOf(
    [...UP, '--upstream', '127.0.0.1:9002', '--token-keys-env', 'K', '--token-idle', '1h', '--failover', 'temporary', '--route-header', 'X-Sticky-Route'],
    { K: `new:${SECRET_A}\nold:${SECRET_B}` },
  )
  const { proxy: _proxy, ...balancerOptions } = options
  const balancer = createBalancer(balancerOptions as unknown as Parameters<typeof createBalancer>[0])
  assert.match(balancer.decide(undefined).setCookie ?? '', /^route=1\.new\./)
})

FlagsPlan('should map the library refusing a flag value back to the flag', () => {
  assert.match(usageError(() => optionsOf([...UP, '--cookie-name', 'a;b'])).message, /^--cookie-name: /)
  assert.match(usageError(() => optionsOf(['--upstream', 'not an address'])).message, /^--upstream: /)
})

FlagsPlan.run()

const FlagForOption = suite('flagForOption')

const optionFlags: ReadonlyArray<readonly [string, string | undefined]> = [
  ['peers', '--upstream'],
  ['peers[2].weight', '--upstream'],
  ['peers[0].address', '--upstream'],
  ['cookie.name', '--cookie-name'],
  ['cookie.sameSite', '--same-site'],
  ['cookie.partitioned', '--partitioned'],
  ['cookie.expires', '--cookie-expires'],
  ['hash', '--hash'],
  ['hmac.key', '--hmac'],
  ['hmac.algorithm', '--hmac'],
  ['failover', '--failover'],
  ['fallback', '--no-fallback'],
  ['strictStatus', '--strict-status'],
  ['header', '--route-header'],
  ['token.maxAge', '--token-max-age'],
  ['token.idle', '--token-idle'],
  ['token.skew', '--token-skew'],
  ['token.keys[0].secret', undefined],
  ['cookie', undefined],
  ['now', undefined],
  ['', undefined],
  ['__proto__', undefined],
]
for (const [option, flag] of optionFlags) {
  FlagForOption(`should map ${JSON.stringify(option)} to ${String(flag)}`, () => {
    assert.is(flagForOption(option), flag)
  })
}

FlagForOption('should only ever answer a flag documented in the usage text', () => {
  const roots = [
    'peers',
    'cookie',
    'cookie.name',
    'cookie.path',
    'cookie.domain',
    'cookie.expires',
    'cookie.secure',
    'cookie.httpOnly',
    'cookie.sameSite',
    'cookie.partitioned',
    'hash',
    'hmac',
    'refresh',
    'fallback',
    'legacy',
    'now',
    'proxy',
  ]
  const option = fc.tuple(fc.constantFrom(...roots), fc.constantFrom('', '.key', '[3].weight', 'X')).map(([root, tail]) => root + tail)
  fc.assert(
    fc.property(option, (text) => {
      const flag = flagForOption(text)
      return flag === undefined || new RegExp(`(^|\\s)${flag}(\\s|$)`, 'm').test(USAGE)
    }),
    { seed },
  )
})

FlagForOption.run()

const Usage = suite('USAGE')

Usage('should document every new flag, each with an example', () => {
  const flagsWithExamples = [
    '--config',
    '--tls-cert',
    '--trust-proxy',
    '--health-check',
    '--health-expect',
    '--workers',
    '--grace',
    '--metrics',
    '--log-format',
  ]
  for (const flag of flagsWithExamples) assert.match(USAGE, new RegExp(`e\\.g\\.[^\\n]*${flag} `), flag)
  const documented = ['--tls-key', '--no-x-forwarded', '--no-request-id', '--health-interval', '--health-timeout', '--health-rises', '--health-falls']
  for (const flag of documented) assert.match(USAGE, new RegExp(`(^|\\s)${flag}(\\s|$)`, 'm'), flag)
})

Usage.run()
