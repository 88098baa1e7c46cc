import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import * as vm from 'node:vm'
import { nodeDigest, nodeHmac } from './_balancer'

const root = join(__dirname, '..')
const cjsPath = join(root, 'dist', 'index.cjs')
const esmPath = join(root, 'dist', 'index.js')

/** Globals of Node and of the web platform that the core must not use: it runs anywhere JavaScript runs. */
const HOST_GLOBALS = [
  'process',
  'Buffer',
  'require',
  'module',
  'global',
  'TextEncoder',
  'TextDecoder',
  'setTimeout',
  'setImmediate',
  'queueMicrotask',
  'URL',
  'crypto',
  'console',
  'structuredClone',
  'atob',
  'btoa',
]

/** A context with only the ECMAScript built-ins: every host global is missing. */
function bareContext(): vm.Context {
  const context = vm.createContext({})
  // V8 gives every context a console; remove it so that a stray console call fails here too.
  vm.runInContext('delete globalThis.console', context)
  return context
}

/** Loads the CommonJS build into the context with a hand-made `module`, and returns its exports there. */
function loadCore(context: vm.Context): void {
  const source = readFileSync(cjsPath, 'utf8')
  const wrapper = vm.runInContext(`(function (module, exports) {\n${source}\n})`, context, { filename: cjsPath }) as (m: object, e: object) => void
  const module = vm.runInContext('({ exports: {} })', context) as { exports: object }
  wrapper(module, module.exports)
  ;(context as { core?: object }).core = module.exports
}

const Bare = suite('built core without Node globals')

Bare.before(() => {
  assert.ok(existsSync(cjsPath), 'dist/index.cjs is missing: build the package first (npx tsup)')
})

Bare('should start from a context where every host global is missing', () => {
  const context = bareContext()
  const present = vm.runInContext(`${JSON.stringify(HOST_GLOBALS)}.filter((name) => typeof globalThis[name] !== 'undefined')`, context) as string[]
  assert.equal([...present], [])
})

Bare('should create a balancer and decide inside that context', () => {
  const context = bareContext()
  loadCore(context)
  const result = vm.runInContext(
    `(() => {
      const { createBalancer } = core
      const b = createBalancer({
        peers: ['127.0.0.1:9001', { address: '[::1]:9002', weight: 2 }],
        cookie: { expires: 3600, secure: true, sameSite: 'None' },
        refresh: 'always',
        legacy: true,
        now: () => 1767225600000,
      })
      const first = b.decide(undefined)
      const hit = b.decide('route=' + b.cookieValue(b.peers[1]))
      const legacy = b.decide('route=2b46daf0ba503cbe30c3b46dfad73e0a')
      b.report(hit.peer, false)
      const keyed = createBalancer({ peers: ['127.0.0.1:9001'], hmac: { algorithm: 'sha256', key: new Uint8Array([1, 2, 3]) } })
      return JSON.stringify({
        first: [first.outcome, first.peer.id, first.setCookie],
        hit: [hit.outcome, hit.peer.id, hit.setCookie],
        legacy: [legacy.outcome, legacy.peer.id],
        keyed: keyed.cookieValue(keyed.peers[0]),
      })
    })()`,
    context,
  ) as string
  const md5v6 = nodeDigest('md5', '[::1]:9002')
  const attributes = '; Path=/; Expires=Thu, 01 Jan 2026 01:00:00 GMT; Max-Age=3600; Secure; SameSite=None'
  assert.equal(JSON.parse(result), {
    first: ['new', '[::1]:9002', `route=${md5v6}${attributes}`],
    hit: ['hit', '[::1]:9002', `route=${md5v6}${attributes}`],
    legacy: ['hit', '127.0.0.1:9001'],
    keyed: nodeHmac('sha256', new Uint8Array([1, 2, 3]), '127.0.0.1:9001'),
  })
})

Bare('should import nothing in the ESM build and call no console', () => {
  const esm = readFileSync(esmPath, 'utf8')
  assert.not.ok(/^\s*import\s/m.test(esm), 'the ESM build imports a module')
  assert.not.ok(/\brequire\(/.test(readFileSync(cjsPath, 'utf8')), 'the CJS build requires a module')
  assert.not.ok(/\bconsole\./.test(esm), 'the build calls console')
})
Bare.run()

const Manifest = suite('package.json')

Manifest('should declare no runtime dependencies', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>
  assert.not.ok('dependencies' in pkg)
  assert.is(pkg.sideEffects, false)
})
Manifest.run()
