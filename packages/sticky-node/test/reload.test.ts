import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { peerChanges, readCertificatePair, readReload, restartNeededFor } from '../src/reload'
import { TEST_CERT, TEST_KEY } from './_tls'
import { loadServePlan, type ServePlan } from '../src/serve-plan'

const Reload = suite('restartNeededFor')

const KEY = `${'a'.repeat(32)}\n`

function plan(text: string): ServePlan {
  return loadServePlan(['--config', 'proxy.yaml'], {
    env: {},
    readFile: (path) => Buffer.from(path === 'proxy.yaml' ? text : path === 'tls.pem' ? 'pem' : KEY),
    cpus: () => 2,
  })
}

const BASE = 'peers: [10.0.0.1:80]\n'

Reload('should let a reload apply peers, log settings and the grace period', () => {
  const running = plan(BASE)
  for (const next of ['peers: [10.0.0.1:80, 10.0.0.2:80]\n', `${BASE}log: { format: json, quiet: true }\n`, `${BASE}grace: 30s\n`])
    assert.is(restartNeededFor(running, plan(next)), undefined, next)
})

Reload('should name the first setting that needs a restart', () => {
  const running = plan(BASE)
  const cases: [string, string][] = [
    [`${BASE}listen: 9090\n`, 'listen'],
    [`${BASE}tls: { cert: tls.pem, key: tls.pem }\n`, 'tls'],
    [`${BASE}workers: 2\n`, 'workers'],
    [`${BASE}metrics: 127.0.0.1:9100\n`, 'metrics'],
    ['routes: [{ path: /, peers: [10.0.0.1:80] }, { path: /api, cookie: { name: api }, peers: [10.0.0.2:80] }]\n', 'routes'],
    [`${BASE}cookie: { name: other }\n`, 'cookie'],
    [`${BASE}failover: strict\n`, 'failover'],
    [`${BASE}healthCheck: { path: /healthz }\n`, 'healthCheck'],
  ]
  for (const [next, key] of cases) assert.is(restartNeededFor(running, plan(next)), key, next)
})

Reload('should name a route by its index when there are several', () => {
  // The file lists the routes longest path first, as the plan keeps them, so that both number them alike.
  const routes = (name: string): string =>
    `routes:\n  - path: /api\n    cookie: { name: api }\n    peers: [10.0.0.2:80]\n  - path: /\n    cookie: { name: ${name} }\n    peers: [10.0.0.1:80]\n`
  assert.is(restartNeededFor(plan(routes('web')), plan(routes('web2'))), 'routes[1].cookie')
  assert.is(restartNeededFor(plan(routes('web')), plan(routes('web').replace('10.0.0.2:80', '10.0.0.3:80'))), undefined)
})

Reload('should name a route by its index in the file, whatever order the plan keeps (regression: named by plan order)', () => {
  // The plan keeps the longest path first; the file lists / first, so /api is routes[1] there.
  const routes = (name: string): string =>
    `routes:\n  - path: /\n    cookie: { name: web }\n    peers: [10.0.0.1:80]\n  - path: /api\n    cookie: { name: ${name} }\n    peers: [10.0.0.2:80]\n`
  assert.is(restartNeededFor(plan(routes('api')), plan(routes('api2'))), 'routes[1].cookie')
})
Reload.run()

const Changes = suite('peerChanges')

Changes('should list the peers added and removed, in their order', () => {
  assert.equal(peerChanges(['a', 'b', 'c'], ['c', 'd', 'a', 'e']), { added: ['d', 'e'], removed: ['b'] })
  assert.equal(peerChanges(['a'], ['a']), { added: [], removed: [] })
})
Changes.run()

const Pair = suite('readCertificatePair and readReload')

const TLS = `${BASE}tls: { cert: cert.pem, key: key.pem }\n`

/** A plan's io: the config text, the certificate files as `files` says (absent ones fail with ENOENT), key files. */
function io(text: string, files: Record<string, string>): Parameters<typeof loadServePlan>[1] {
  return {
    env: {},
    cpus: () => 2,
    readFile: (path) => {
      if (path === 'proxy.yaml') return Buffer.from(text)
      const content = files[path]
      if (content === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
      return Buffer.from(content)
    },
  }
}

Pair('should read each file once and check that the pair makes a TLS context', () => {
  const reads: string[] = []
  const files = io(TLS, { 'cert.pem': TEST_CERT, 'key.pem': TEST_KEY })
  const pair = readCertificatePair({ cert: 'cert.pem', key: 'key.pem' }, { ...files, readFile: (path) => (reads.push(path), files.readFile(path)) })
  assert.equal(pair, { cert: Buffer.from(TEST_CERT), key: Buffer.from(TEST_KEY) })
  assert.equal(reads, ['cert.pem', 'key.pem'])
  assert.is(readCertificatePair({ cert: 'cert.pem', key: 'key.pem' }, io(TLS, { 'key.pem': TEST_KEY })), '--tls-cert: cannot read "cert.pem" (ENOENT)')
  assert.is(readCertificatePair({ cert: 'cert.pem', key: 'key.pem' }, io(TLS, { 'cert.pem': TEST_CERT })), '--tls-key: cannot read "key.pem" (ENOENT)')
  assert.match(String(readCertificatePair({ cert: 'cert.pem', key: 'key.pem' }, io(TLS, { 'cert.pem': TEST_KEY, 'key.pem': TEST_KEY }))), /^--tls-cert: /)
})

Pair('should refuse a reload whose certificate files are gone, through the same io as the config file', () => {
  const running = loadServePlan(['--config', 'proxy.yaml'], io(TLS, { 'cert.pem': TEST_CERT, 'key.pem': TEST_KEY }))
  const gone = readReload(running, ['--config', 'proxy.yaml'], io(`${TLS}grace: 5s\n`, { 'key.pem': TEST_KEY }))
  assert.equal(gone, { ok: false, message: 'proxy.yaml: --tls-cert: cannot read "cert.pem" (ENOENT)' })
  const kept = readReload(running, ['--config', 'proxy.yaml'], io(`${TLS}grace: 5s\n`, { 'cert.pem': TEST_CERT, 'key.pem': TEST_KEY }))
  assert.ok(kept.ok && kept.tls !== undefined && kept.tls.cert.toString() === TEST_CERT)
})

Pair.run()
