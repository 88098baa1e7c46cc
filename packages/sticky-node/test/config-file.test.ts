import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Ajv2020 from 'ajv/dist/2020'
import fc from 'fast-check'
import { fastCheckSeed } from 'sticky-conformance'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { CliUsageError } from '../src/args'
import { CONFIG_SPEC, checkSpec, configJsonSchema, nearest, parseConfigText, type Spec } from '../src/config-file'
import { loadServePlan, routeFor, routingPath } from '../src/serve-plan'

const seed = fastCheckSeed('config-file.test')
const SCHEMA_FILE = join(__dirname, '..', 'schema', 'sticky-proxy.schema.json')
const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Record<string, unknown>
const validateSchema = new Ajv2020({ strict: true, strictRequired: false }).compile(schema)
const KEY = 'k'.repeat(32)

function load(text: string, argv: readonly string[] = [], env: Record<string, string> = {}) {
  const files: Record<string, string> = { 'proxy.yaml': text, 'hmac.key': 'secret\n', 'tokens.txt': `a:${KEY}\n` }
  return loadServePlan(['--config', 'proxy.yaml', ...argv], {
    env,
    readFile: (path) => {
      const content = files[path]
      if (content === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' })
      return Buffer.from(content)
    },
    cpus: () => 2,
  })
}

function refusal(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    if (error instanceof CliUsageError) return error.message
    throw error
  }
  throw new Error('expected a CliUsageError')
}

const Schema = suite('the published JSON Schema')

Schema('should be the schema generated from the loader key table', () => {
  assert.equal(schema, configJsonSchema())
})

Schema('should describe every key and refuse unknown ones', () => {
  const walk = (node: unknown, where: string): void => {
    if (typeof node !== 'object' || node === null) return
    const record = node as Record<string, unknown>
    if (record.type === 'object') assert.is(record.additionalProperties, false, where)
    if (record.properties !== undefined) {
      for (const [key, value] of Object.entries(record.properties as Record<string, Record<string, unknown>>)) {
        assert.type(value.description, 'string', `${where}.${key}`)
        walk(value, `${where}.${key}`)
      }
    }
    for (const key of ['items', 'anyOf']) {
      const child = record[key]
      if (Array.isArray(child)) child.forEach((c, i) => walk(c, `${where}.${key}[${i}]`))
      else walk(child, `${where}.${key}`)
    }
  }
  walk(schema, '')
})

Schema.run()

const EXAMPLES: Record<string, string> = {
  'single group (YAML)': `# yaml-language-server: $schema=./node_modules/sticky-node/schema/sticky-proxy.schema.json
listen: 0.0.0.0:8080
peers:
  - 10.0.0.1:8080 weight=2 max_fails=3 fail_timeout=30s
  - 10.0.0.2:8080
  - address: 10.0.0.9:8080
    backup: true
cookie: { name: srv, secure: true, httpOnly: true, sameSite: Lax, expires: 1h }
hmac: { algorithm: sha256, keyFile: hmac.key }
failover: temporary
proxy: { timeout: 30s, retries: 1, trustProxy: [loopback, 10.0.0.0/8], requestId: true, xForwarded: { forwarded: true } }
tls: { cert: cert.pem, key: key.pem }
log: { format: json }
metrics: 127.0.0.1:9100
workers: auto
grace: 30s
`,
  'routes (YAML)': `cookie: { secure: true }
proxy: { timeout: 10s }
routes:
  - path: /api
    cookie: { name: api }
    peers: [10.0.1.1:9000, 10.0.1.2:9000]
    proxy: { retries: 0 }
  - path: /
    peers: [10.0.2.1:8080]
`,
  'tokens (JSON)': JSON.stringify({ listen: 8080, peers: ['127.0.0.1:9001 route=a', '127.0.0.1:9002 route=b'], token: { keysFile: 'tokens.txt', idle: '1h' } }),
}

const Examples = suite('config examples')

for (const [name, text] of Object.entries(EXAMPLES)) {
  Examples(`should validate against the schema and load: ${name}`, () => {
    const value = parseConfigText('x', text).value
    assert.ok(validateSchema(value), JSON.stringify(validateSchema.errors))
    assert.ok(load(text).routes.length > 0)
  })
}

Examples('should read the single-group example into one route / with every operator key', () => {
  const plan = load(EXAMPLES['single group (YAML)'] ?? '')
  assert.equal(plan.listen, { host: '0.0.0.0', port: 8080 })
  assert.equal(plan.tls, { cert: 'cert.pem', key: 'key.pem' })
  assert.equal(plan.log, { format: 'json', quiet: false })
  assert.equal(plan.metrics, { host: '127.0.0.1', port: 9100 })
  assert.is(plan.workers, 2)
  assert.is(plan.grace, 30_000)
  assert.is(plan.configFile, 'proxy.yaml')
  const options = plan.routes[0]?.options as Record<string, unknown>
  assert.equal(options.peers, [
    { address: '10.0.0.1:8080', weight: 2, maxFails: 3, failTimeout: 30_000 },
    { address: '10.0.0.2:8080' },
    { address: '10.0.0.9:8080', backup: true },
  ])
  const hmac = options.hmac as { algorithm: string; key: Uint8Array }
  assert.equal([hmac.algorithm, Buffer.from(hmac.key).toString()], ['sha256', 'secret'])
  assert.equal(options.proxy, { requestId: true, timeout: '30s', retries: 1, trustProxy: ['loopback', '10.0.0.0/8'], xForwarded: { forwarded: true } })
})

Examples('should give routes longest path first, inheriting the top level (objects merged)', () => {
  const plan = load(EXAMPLES['routes (YAML)'] ?? '')
  assert.equal(
    plan.routes.map((r) => r.path),
    ['/api', '/'],
  )
  const api = plan.routes[0]?.options as Record<string, unknown>
  assert.equal(api.cookie, { secure: true, name: 'api' })
  assert.equal(api.proxy, { requestId: true, timeout: '10s', retries: 0 })
  assert.equal((plan.routes[1]?.options as Record<string, unknown> | undefined)?.cookie, { secure: true })
})

Examples('should let flags override the file, for every route', () => {
  const plan = load(EXAMPLES['routes (YAML)'] ?? '', ['--timeout', '5s', '--no-request-id', '--listen', '9000', '--workers', '3'])
  assert.equal(plan.listen, { host: '127.0.0.1', port: 9000 })
  assert.is(plan.workers, 3)
  for (const route of plan.routes) assert.equal((route.options.proxy as Record<string, unknown>).timeout, 5_000)
  for (const route of plan.routes) assert.equal((route.options.proxy as Record<string, unknown>).requestId, false)
  const single = load('peers: [10.0.0.1:80]\n', ['--upstream', '10.0.0.2:80'])
  assert.equal(single.routes[0]?.options.peers, [{ address: '10.0.0.2:80' }])
})

Examples.run()

const Errors = suite('config errors name the file, the line and the key')

const errors: ReadonlyArray<readonly [string, string, readonly string[], RegExp]> = [
  ['syntax', 'peers: [a\n', [], /^proxy\.yaml:\d+: /],
  ['unknown key, nearest suggested', 'peers: [10.0.0.1:80]\ncokie: { name: a }\n', [], /^proxy\.yaml:2: cokie: unknown key \(did you mean cookie\?\)/],
  ['unknown nested key', 'peers: [10.0.0.1:80]\nproxy:\n  timeot: 1s\n', [], /^proxy\.yaml:3: proxy\.timeot: unknown key \(did you mean timeout\?\)/],
  // Names of Object.prototype were once looked up in the key table and passed as known keys.
  ['unknown key named like a prototype member', 'peers: [10.0.0.1:80]\nconstructor: 1\n', [], /^proxy\.yaml:2: constructor: unknown key/],
  ['unknown key __proto__', 'peers: [10.0.0.1:80]\n__proto__: { x: 1 }\n', [], /^proxy\.yaml:2: __proto__: unknown key/],
  [
    'unknown nested key toString',
    'routes:\n  - path: /\n    peers: [10.0.0.1:80]\n    toString: 1\n',
    [],
    /^proxy\.yaml:4: routes\[0\]\.toString: unknown key/,
  ],
  ['wrong type', 'peers: [10.0.0.1:80]\nworkers: many\n', [], /^proxy\.yaml:2: workers: expected a whole number from 1 to 1024 or "auto"/],
  ['bad duration', 'peers: [10.0.0.1:80]\ngrace: soon\n', [], /^proxy\.yaml:2: grace: expected a duration/],
  ['bad enum', 'peers: [10.0.0.1:80]\nlog: { format: xml }\n', [], /^proxy\.yaml:2: log\.format: expected one of text, json/],
  [
    'peer line',
    'routes:\n  - path: /\n    peers: [10.0.0.1:80]\n  - path: /api\n    cookie: { name: api }\n    peers:\n      - 10.0.0.2:80 weight=x\n',
    [],
    /^proxy\.yaml:7: routes\[1\]\.peers\[0\]: weight= expects a non-negative integer/,
  ],
  ['library: peer address', 'peers:\n  - 10.0.0.1:80\n  - address: "not an address"\n', [], /^proxy\.yaml:3: peers\[1\]\.address: /],
  ['library: cookie name', 'peers: [10.0.0.1:80]\ncookie:\n  name: "a;b"\n', [], /^proxy\.yaml:3: cookie\.name: /],
  ['library: trust list', 'peers: [10.0.0.1:80]\nproxy:\n  trustProxy: [300.0.0.1]\n', [], /^proxy\.yaml:3: proxy\.trustProxy/],
  [
    'peers and routes',
    'peers: [10.0.0.1:80]\nroutes: [{ path: /, peers: [10.0.0.1:80] }]\n',
    [],
    /^proxy\.yaml:2: routes: peers and routes exclude each other/,
  ],
  ['no peers', 'listen: 8080\n', [], /^--upstream: at least one is required/],
  ['--upstream with routes', 'routes: [{ path: /, peers: [10.0.0.1:80] }]\n', ['--upstream', '10.0.0.2:80'], /^--upstream: cannot replace the peers/],
  [
    'colliding cookies',
    'routes:\n  - path: /\n    peers: [10.0.0.1:80]\n  - path: /api\n    peers: [10.0.0.2:80]\n',
    [],
    /^proxy\.yaml:4: routes\[1\]\.cookie\.name: cookie "route" \(path \/\) is also the cookie of routes\[0\]/,
  ],
  [
    'same path twice',
    'routes:\n  - path: /a\n    peers: [10.0.0.1:80]\n  - path: /a/\n    cookie: { name: b }\n    peers: [10.0.0.2:80]\n',
    [],
    /^proxy\.yaml:4: routes\[1\]\.path: "\/a\/" is also the path of routes\[0\]/,
  ],
  ['hmac key source', 'peers: [10.0.0.1:80]\nhmac: { algorithm: sha1 }\n', [], /^proxy\.yaml:2: hmac: expected one of keyFile or keyEnv/],
  [
    'hmac key unreadable',
    'peers: [10.0.0.1:80]\nhmac:\n  algorithm: sha1\n  keyFile: nope\n',
    [],
    /^proxy\.yaml:4: hmac\.keyFile: cannot read "nope" \(ENOENT\)/,
  ],
  ['token keys env unset', 'peers: [10.0.0.1:80]\ntoken:\n  keysEnv: KEYS\n', [], /^proxy\.yaml:3: token\.keysEnv: environment variable "KEYS" is not set/],
  ['flag wins the blame', 'peers: [10.0.0.1:80]\n', ['--cookie-name', 'a;b'], /^--cookie-name: /],
  ['duplicate key', 'peers: [10.0.0.1:80]\npeers: [10.0.0.2:80]\n', [], /^proxy\.yaml:2: /],
]

for (const [name, text, argv, expected] of errors) {
  Errors(`should refuse: ${name}`, () => {
    assert.match(
      refusal(() => load(text, argv)),
      expected,
    )
  })
}

Errors('should refuse an unreadable file naming --config', () => {
  assert.match(
    refusal(() =>
      loadServePlan(['--config', 'missing.yaml'], {
        env: {},
        readFile: () => {
          throw Object.assign(new Error('x'), { code: 'ENOENT' })
        },
        cpus: () => 1,
      }),
    ),
    /^--config: cannot read "missing\.yaml" \(ENOENT\)/,
  )
})

Errors('should point at the key of a map value that starts on the next line, and at the first line of the top level', () => {
  assert.match(
    refusal(() => load('peers: [10.0.0.1:80]\nhealthCheck:\n  interval: 5s\n')),
    /^proxy\.yaml:2: healthCheck: path is required/,
  )
  assert.match(
    refusal(() => load('# a comment\n- 10.0.0.1:80\n')),
    /^proxy\.yaml:2: \(top\): expected keys and values, got a list/,
  )
})

Errors('should read an empty or comment-only file as one without keys', () => {
  for (const text of ['', '# nothing yet\n'])
    assert.match(
      refusal(() => load(text)),
      /^--upstream: at least one is required/,
    )
})

Errors('should refuse a file whose aliases expand exponentially', () => {
  const bomb = [
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
    'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
    'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
  ].join('\n')
  assert.match(
    refusal(() => parseConfigText('proxy.yaml', bomb)),
    /^proxy\.yaml:1: .*alias/i,
  )
})

Errors.run()

const Agreement = suite('schema and loader agree')

/** Values of every kind, good and bad, for any key. */
const anyValue = fc.oneof(
  fc.constantFrom(
    '10.0.0.1:80',
    '/api',
    'text',
    '',
    'auto',
    'max',
    '10s',
    '1m30s',
    'soon',
    'md5',
    'sha256',
    'repin',
    'json',
    'Lax',
    '127.0.0.1:9100',
    '200-399',
  ),
  fc.constantFrom(0, 1, 2, 3, 502, 503, 200, 99, 65_536, -1, 1.5, 1025),
  fc.boolean(),
  fc.constant(null),
  fc.constant(['10.0.0.1:80']),
  fc.constant({}),
)

function keysOf(spec: Spec, prefix: string[] = []): string[][] {
  if (spec.kind !== 'object') return []
  return Object.entries(spec.keys).flatMap(([key, child]) => [[...prefix, key], ...(child.kind === 'object' ? keysOf(child, [...prefix, key]) : [])])
}

Agreement('property: a config the schema refuses is refused by the loader', () => {
  const paths = keysOf(CONFIG_SPEC)
  fc.assert(
    fc.property(fc.constantFrom(...paths), anyValue, (path, value) => {
      const config: Record<string, unknown> = { peers: ['10.0.0.1:80'] }
      let node = config
      for (const key of path.slice(0, -1)) {
        const next = (node[key] as Record<string, unknown> | undefined) ?? {}
        node[key] = next
        node = next
      }
      node[path[path.length - 1] ?? ''] = value
      if (path[0] === 'routes') return
      if (path[0] === 'healthCheck' && path.length > 1) node.path ??= '/hz'
      const schemaOk = validateSchema(config)
      const specOk = checkSpec(config, CONFIG_SPEC) === undefined
      assert.is(specOk, schemaOk, `${path.join('.')} = ${JSON.stringify(value)}`)
      if (!schemaOk) refusal(() => load(JSON.stringify(config)))
    }),
    { seed, numRuns: 300 },
  )
})

Agreement('every key and every value of the pool: the loader checks exactly what the schema checks', () => {
  const values: unknown[] = [
    ...['10.0.0.1:80', '/api', 'text', '', 'auto', 'max', '10s', '1m30s', 'soon', 'md5', 'repin', 'json', 'Lax', '127.0.0.1:9100', '[::1]:9100', '200-399'],
    ...[0, 1, 2, 99, 100, 502, 599, 600, 1024, 1025, 65_535, 65_536, 999_999, 1_000_000, -1, 1.5],
    true,
    null,
    [],
    ['10.0.0.1:80'],
    [200],
    {},
  ]
  for (const path of keysOf(CONFIG_SPEC)) {
    if (path[0] === 'routes') continue
    for (const value of values) {
      const config: Record<string, unknown> = { peers: ['10.0.0.1:80'] }
      let node = config
      for (const key of path.slice(0, -1)) {
        const next = (node[key] as Record<string, unknown> | undefined) ?? {}
        node[key] = next
        node = next
      }
      node[path[path.length - 1] ?? ''] = value
      if (path[0] === 'healthCheck' && path.length > 1) node.path ??= '/hz'
      assert.is(checkSpec(config, CONFIG_SPEC) === undefined, validateSchema(config), `${path.join('.')} = ${JSON.stringify(value)}`)
    }
  }
})

Agreement.run()

const Nearest = suite('nearest key and routeFor')

Nearest('should suggest a close key and nothing for a far one', () => {
  assert.is(nearest('helthCheck', ['healthCheck', 'peers']), 'healthCheck')
  assert.is(nearest('zzzzzz', ['healthCheck', 'peers']), undefined)
})

Nearest('should match path prefixes at a segment boundary, longest first', () => {
  const routes = [{ path: '/api' }, { path: '/' }, { path: '/api/v2/' }]
  assert.is(routeFor(routes, '/api')?.path, '/api')
  assert.is(routeFor(routes, '/api/x')?.path, '/api')
  assert.is(routeFor(routes, '/apix')?.path, '/')
  assert.is(routeFor(routes, '/api/v2/x')?.path, '/api/v2/')
  assert.is(routeFor(routes, '/api/v2')?.path, '/api/v2/')
  assert.is(routeFor([{ path: '/api' }], '/other'), undefined)
})

Nearest('property: the route found is a prefix at a segment boundary and no longer one matches', () => {
  const segment = fc.constantFrom('a', 'b', 'api', 'ap')
  const path = fc.array(segment, { maxLength: 3 }).map((parts) => `/${parts.join('/')}`)
  fc.assert(
    fc.property(fc.array(path, { minLength: 1, maxLength: 5 }), path, (prefixes, request) => {
      const routes = prefixes.map((p) => ({ path: p }))
      const found = routeFor(routes, request)
      const matches = (p: string): boolean => p === '/' || request === p || request.startsWith(`${p}/`)
      if (found === undefined) assert.ok(!prefixes.some(matches))
      else {
        assert.ok(matches(found.path))
        assert.ok(!prefixes.some((p) => matches(p) && p.length > found.path.length))
      }
    }),
    { seed },
  )
})

Nearest('should route by the path sent upstream, its dot-segments resolved', () => {
  const routes = [{ path: '/api' }]
  // An absolute-form target once missed its route (and its userinfo reached the log).
  assert.is(routingPath('http://user:pw@other.example/api/a?x=1'), '/api/a')
  assert.is(routeFor(routes, routingPath('http://other.example/api/a'))?.path, '/api')
  // A dot-segment once carried /api's route to a peer that resolves it to /admin.
  assert.is(routingPath('/api/../admin'), '/admin')
  assert.is(routeFor(routes, routingPath('/api/../admin')), undefined)
  assert.is(routingPath('/api/%2E%2e/admin'), '/admin')
  assert.is(routingPath('/api/./a/.'), '/api/a/')
  assert.is(routingPath('/a/b/..'), '/a/')
  assert.is(routingPath('/../../x'), '/x')
  assert.is(routingPath('/a..b/.c/c.'), '/a..b/.c/c.', 'dots inside a segment are no dot-segment')
  assert.is(routingPath('*'), '*')
  assert.is(routingPath(undefined), '/')
})

Nearest('property: a routing path has no dot-segment, and a path without one is kept', () => {
  const segment = fc.constantFrom('a', 'api', '.', '..', '%2e', '%2E%2e', 'a.b', '')
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 6 }), (parts) => {
      const path = `/${parts.join('/')}`
      const routed = routingPath(path)
      assert.ok(routed.startsWith('/'))
      for (const part of routed.slice(1).split('/')) assert.not.ok(['.', '..'].includes(part.replace(/%2e/gi, '.')), routed)
      if (!parts.some((part) => ['.', '..'].includes(part.replace(/%2e/gi, '.')))) assert.is(routed, path)
    }),
    { seed },
  )
})

Nearest('should suggest a key two edits away, ignoring case, and none three away', () => {
  assert.is(nearest('Peers', ['peers', 'proxy']), 'peers')
  assert.is(nearest('HEALTHCHECK', ['healthCheck']), 'healthCheck')
  assert.is(nearest('pers', ['peers']), 'peers')
  assert.is(nearest('prs', ['peers']), 'peers')
  assert.is(nearest('ps', ['peers']), undefined)
  assert.is(nearest('hsh', ['hash', 'hmac']), 'hash', 'the closest, not the last within reach')
  assert.is(nearest('xy', ['ab', 'cd']), 'ab', 'a tie goes to the first known key')
})

Nearest.run()
