// One option dialect: every adapter takes the same `proxy` object, resolves it to the same values, and
// refuses unknown keys at every level of its options with a StickyConfigError naming the key.
import Fastify from 'fastify'
import { resolveSharedProxyOptions, StickyConfigError } from 'sticky-core'
import type { ResolvedSharedProxyOptions, SharedProxyOptions } from 'sticky-core'
import { stickyProxy } from 'sticky-fastify'
import { createStickyFetch } from 'sticky-fetch'
import { createStickyProxy } from 'sticky-node'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
// Each adapter's own resolver, read from its sources: the packages do not export their resolved options.
import { resolveOptions as resolveFastify } from '../../sticky-fastify/src/options'
import { resolveProxyOptions as resolveFetch } from '../../sticky-fetch/src/options'
import { resolveProxyOptions as resolveNode } from '../../sticky-node/src/options'

const peers = ['127.0.0.1:9']

/** Addresses that tell two trust lists apart by what they trust (a resolved list is a function, not data). */
const PROBES = ['127.0.0.1', '::1', '10.1.2.3', '192.168.0.9', '203.0.113.7', '2001:db8::1', undefined] as const

type SharedView = Omit<ResolvedSharedProxyOptions, 'trustProxy'> & { trusts: boolean[] }

/** Every shared key of a resolution, the trust list by what it trusts. */
function view({ timeout, retries, xForwarded, trustProxy, requestId }: ResolvedSharedProxyOptions): SharedView {
  return { timeout, retries, xForwarded, requestId, trusts: PROBES.map((address) => trustProxy.trusts(address)) }
}

/** The shared part of what each adapter resolved from `proxy`. */
function resolvedBy(proxy: SharedProxyOptions | undefined): Record<'node' | 'fetch' | 'fastify', SharedView> {
  const fastify = resolveFastify(proxy === undefined ? { peers } : { peers, proxy })
  return { node: view(resolveNode(proxy)), fetch: view(resolveFetch(proxy)), fastify: view(fastify) }
}

const Same = suite('one proxy object for every adapter')

const proxies: ReadonlyArray<SharedProxyOptions | undefined> = [
  undefined,
  {},
  { timeout: '30s' },
  { timeout: 1500, retries: 0 },
  { retries: 2, xForwarded: false },
  { xForwarded: { host: false } },
  { timeout: 0, retries: 1, xForwarded: { for: false, proto: true } },
  { trustProxy: 'loopback, 10.0.0.0/8', requestId: true },
  { trustProxy: ['private'], requestId: 'X-Correlation-Id', xForwarded: { forwarded: true } },
]
for (const proxy of proxies) {
  Same(`should resolve ${JSON.stringify(proxy)} to the same values in sticky-node, sticky-fetch and sticky-fastify`, () => {
    const expected = view(resolveSharedProxyOptions(proxy))
    const got = resolvedBy(proxy)
    assert.equal(got.node, expected, 'sticky-node')
    assert.equal(got.fetch, expected, 'sticky-fetch')
    assert.equal(got.fastify, expected, 'sticky-fastify')
  })
}

Same('should apply the same defaults: 60 s, every other peer once, every X-Forwarded-* field, nobody trusted, no request ids', () => {
  for (const [adapter, resolved] of Object.entries(resolvedBy(undefined))) {
    assert.equal(
      resolved,
      {
        timeout: 60_000,
        retries: undefined,
        xForwarded: { for: true, proto: true, host: true, forwarded: false },
        requestId: undefined,
        trusts: PROBES.map(() => false),
      },
      adapter,
    )
  }
})

Same('should construct every adapter with the same proxy object', async () => {
  const proxy: SharedProxyOptions = { timeout: '5s', retries: 1, xForwarded: { host: false } }
  createStickyProxy({ peers, proxy }).close()
  createStickyFetch({ peers: ['http://127.0.0.1:9'], proxy })
  const app = Fastify()
  try {
    await app.register(stickyProxy, { peers, proxy })
    await app.ready()
  } finally {
    await app.close()
  }
})

const Strict = suite('unknown keys at every level, in every adapter')

/** Where a stray key can go, and the option the error must name. */
const strays: ReadonlyArray<{ where: string; options: (peers: readonly string[]) => Record<string, unknown>; option: string }> = [
  { where: 'the top level', options: (p) => ({ peers: p, cookei: { name: 'r' } }), option: 'cookei' },
  { where: 'cookie', options: (p) => ({ peers: p, cookie: { expire: 60 } }), option: 'cookie.expire' },
  { where: 'hmac', options: (p) => ({ peers: p, hmac: { algorithm: 'md5', key: 'k', salt: 's' } }), option: 'hmac.salt' },
  { where: 'a peer', options: (p) => ({ peers: [{ address: p[0], wieght: 2 }] }), option: 'peers[0].wieght' },
  { where: 'proxy', options: (p) => ({ peers: p, proxy: { bogus: 1 } }), option: 'proxy.bogus' },
  { where: 'proxy.xForwarded', options: (p) => ({ peers: p, proxy: { xForwarded: { port: true } } }), option: 'proxy.xForwarded.port' },
  { where: 'proxy, a key of another adapter', options: (p) => ({ peers: p, proxy: { replyFrom: {} } }), option: 'proxy.replyFrom' },
]

async function configError(build: () => unknown): Promise<StickyConfigError> {
  try {
    await build()
  } catch (error) {
    assert.instance(error, StickyConfigError)
    return error as StickyConfigError
  }
  assert.unreachable('expected a StickyConfigError')
  throw new Error('unreachable')
}

for (const { where, options, option } of strays) {
  Strict(`should name ${option} in sticky-node, sticky-fetch and sticky-fastify (a stray key in ${where})`, async () => {
    const node = await configError(() => createStickyProxy(options(peers) as never))
    const fetch = await configError(() => createStickyFetch(options(['http://127.0.0.1:9']) as never))
    const app = Fastify()
    const fastify = await configError(async () => {
      try {
        await app.register(stickyProxy, options(peers) as never)
        await app.ready()
      } finally {
        await app.close()
      }
    })
    for (const [adapter, error] of [
      ['sticky-node', node],
      ['sticky-fetch', fetch],
      ['sticky-fastify', fastify],
    ] as const) {
      assert.is(error.option, option, `${adapter}: ${error.message}`)
      assert.ok(error.message.includes(option), adapter)
    }
  })
}

Same.run()
Strict.run()
