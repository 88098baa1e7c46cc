// The deploy files the repository keeps (deploy/): what can be checked without a container engine,
// systemd or a cluster: they parse, the command lines they run are the ones sticky-proxy accepts, and
// the configuration they ship loads.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { parseCommandLine } from '../src/args'
import { createStickyProxy } from '../src/proxy'
import { loadServePlan, type PlanIo, type ServePlan } from '../src/serve-plan'
import type { StickyProxyOptions } from '../src/options'

const DEPLOY = join(__dirname, '..', '..', '..', 'deploy')
const read = (name: string): string => readFileSync(join(DEPLOY, name), 'utf8')
const io: PlanIo = { env: { STICKY_HMAC_KEY: 'a-key-from-the-secret-of-32-bytes!' }, readFile: (path) => readFileSync(path), cpus: () => 4 }

/** The argv after `sticky-proxy` in a command line, or a failed assertion. */
function stickyArgs(command: readonly string[]): string[] {
  const [program, ...args] = command
  assert.ok(program === 'sticky-proxy' || program?.endsWith('/sticky-proxy') === true, `runs sticky-proxy: ${command.join(' ')}`)
  return args
}

/** The plan of `argv`, with the `--config` path rewritten to the file the repository ships. */
function planOf(argv: readonly string[], configText: string): ServePlan {
  const command = parseCommandLine(argv)
  assert.is(command.kind, 'serve')
  const dir = mkdtempSync(join(tmpdir(), 'sticky-deploy-'))
  try {
    const file = join(dir, 'proxy.yaml')
    writeFileSync(file, configText)
    const at = argv.indexOf('--config')
    assert.ok(at >= 0, `--config in ${argv.join(' ')}`)
    return loadServePlan([...argv.slice(0, at + 1), file, ...argv.slice(at + 2)], io)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Two instances built from the same plan issue the same cookie for every peer: no shared state needed. */
function assertInstancesAgree(plan: ServePlan): void {
  for (const route of plan.routes) {
    const options = route.options as StickyProxyOptions
    const [one, two] = [createStickyProxy(options), createStickyProxy(options)]
    try {
      for (const peer of one.balancer.peers) assert.is(one.balancer.cookieValue(peer), two.balancer.cookieValue(peer))
    } finally {
      one.close()
      two.close()
    }
  }
}

const Deploy = suite('deploy files')

Deploy('the Dockerfile is multi-stage, runs as a non-root user, and runs a command line sticky-proxy accepts with the config it ships', () => {
  const text = read('Dockerfile')
  const from = text.split('\n').filter((line) => /^FROM /.test(line))
  assert.ok(from.length >= 2, 'multi-stage')
  const user = /^USER (\S+)$/m.exec(text)?.[1]
  assert.ok(user !== undefined && user !== 'root' && user !== '0', `non-root user: ${String(user)}`)
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(text)?.[1] ?? 'null') as string[]
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(text)?.[1] ?? 'null') as string[]
  const argv = stickyArgs([...entrypoint, ...cmd])
  assert.equal(argv, ['--config', '/etc/sticky/proxy.yaml'])
  assert.match(text, /^COPY deploy\/proxy\.yaml \/etc\/sticky\/proxy\.yaml$/m)
  const plan = planOf(argv, read('proxy.yaml'))
  assert.is(plan.listen.host, '0.0.0.0')
  assert.is(plan.workers, 4)
  assertInstancesAgree(plan)
})

const SYSTEMD_KEYS: Readonly<Record<string, readonly string[]>> = {
  Unit: ['Description', 'Documentation', 'After', 'Wants', 'Requires'],
  Service: [
    'Type',
    'ExecStart',
    'ExecReload',
    'EnvironmentFile',
    'Environment',
    'KillSignal',
    'TimeoutStopSec',
    'Restart',
    'RestartSec',
    'DynamicUser',
    'User',
    'NoNewPrivileges',
    'ProtectSystem',
    'ProtectHome',
    'PrivateTmp',
    'PrivateDevices',
    'ProtectKernelTunables',
    'ProtectKernelModules',
    'ProtectControlGroups',
    'RestrictAddressFamilies',
    'RestrictNamespaces',
    'LockPersonality',
    'CapabilityBoundingSet',
    'AmbientCapabilities',
    'LimitNOFILE',
  ],
  Install: ['WantedBy'],
}

Deploy('the systemd unit uses known keys, reloads with SIGHUP, and runs a command line sticky-proxy accepts', () => {
  const entries = new Map<string, string>()
  let section: string | undefined
  for (const line of read('sticky-proxy.service').split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const header = /^\[(\w+)\]$/.exec(line)
    if (header !== null) {
      section = header[1]
      assert.ok(section !== undefined && section in SYSTEMD_KEYS, `known section ${line}`)
      continue
    }
    const pair = /^(\w+)=(.*)$/.exec(line)
    assert.ok(pair !== null && section !== undefined, `key=value in a section: ${line}`)
    const [, key = '', value = ''] = pair ?? []
    assert.ok(SYSTEMD_KEYS[section ?? '']?.includes(key), `known key ${section}.${key}`)
    entries.set(key, value)
  }
  assert.is(entries.get('ExecReload'), '/bin/kill -HUP $MAINPID')
  assert.is(entries.get('NoNewPrivileges'), 'yes')
  const argv = stickyArgs((entries.get('ExecStart') ?? '').split(' '))
  assertInstancesAgree(planOf(argv, read('proxy.yaml')))
})

Deploy('the Kubernetes manifest parses: a ConfigMap whose config loads, 3 replicas with a readiness probe, a Service; replicas agree on cookies', () => {
  const documents = parseAllDocuments(read('kubernetes.yaml'))
  assert.ok(Array.isArray(documents), 'YAML documents, not an empty stream')
  const objects = (Array.isArray(documents) ? documents : []).map((document) => {
    assert.equal(document.errors, [])
    return document.toJS() as { kind: string; spec?: Record<string, unknown>; data?: Record<string, string> }
  })
  assert.equal(
    objects.map((object) => object.kind),
    ['ConfigMap', 'Deployment', 'Service'],
  )
  const [configMap, deployment] = objects
  const spec = deployment?.spec as {
    replicas: number
    template: {
      spec: { containers: Array<{ args: string[]; readinessProbe?: unknown; env: Array<{ name: string; valueFrom?: { secretKeyRef?: unknown } }> }> }
    }
  }
  assert.is(spec.replicas, 3)
  const container = spec.template.spec.containers[0]
  assert.ok(container?.readinessProbe !== undefined, 'readiness probe')
  assert.ok(
    container?.env.some((variable) => variable.name === 'STICKY_HMAC_KEY' && variable.valueFrom?.secretKeyRef !== undefined),
    'the HMAC key comes from a Secret',
  )
  const plan = planOf(container?.args ?? [], configMap?.data?.['proxy.yaml'] ?? '')
  assert.is(plan.routes[0]?.options.peers.length, 3)
  assertInstancesAgree(plan)
})

Deploy.run()
