import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { build as bundle } from 'esbuild'
import { Miniflare } from 'miniflare'
import { inProcessFactory, runHostileClients, runHostilePeers, type HostileBuild } from 'sticky-conformance/hostile'

const packageDir = join(__dirname, '..')
const THREW = 'x-hostile-kit-threw'
const USABLE = '/__hostile-kit/usable'

/**
 * The Worker the hostile kits run in workerd, on the BUILT package (what ships), like `_workerd.ts`'s,
 * plus what the kits need to see inside: a path that asks the handler's balancer whether a peer is
 * usable (workerd's balancer is out of the test's reach otherwise), and a 500 marked `x-hostile-kit-threw`
 * when the handler throws, so that it is told apart from the 500 workerd's own HTTP server answers to
 * requests it refuses before any Worker runs.
 */
const ENTRY = `
import { createStickyFetch } from './dist/index.js'

let handler

export default {
  async fetch(request, env, ctx) {
    handler ??= createStickyFetch(env.OPTIONS)
    const url = new URL(request.url)
    if (url.pathname === '${USABLE}') {
      const decision = handler.balancer.decide(request.headers.get('x-kit-cookie'))
      const usable = decision.outcome === 'hit' && decision.peer !== null && decision.peer.id === url.searchParams.get('address')
      return Response.json({ usable })
    }
    try {
      return await handler(request, env, ctx)
    } catch (error) {
      return new Response(String(error && error.stack || error), { status: 500, headers: { '${THREW}': '1' } })
    }
  },
}
`

let script: Promise<string> | undefined

async function workerScript(): Promise<string> {
  if (!existsSync(join(packageDir, 'dist', 'index.js'))) throw new Error('sticky-fetch is not built: run `npx tsup` in the package first')
  const result = await bundle({
    stdin: { contents: ENTRY, resolveDir: packageDir, loader: 'js', sourcefile: 'worker.js' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'import'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  })
  const output = result.outputFiles[0]
  if (output === undefined) throw new Error('esbuild produced no output')
  return output.text
}

const build: HostileBuild = async (options) => {
  const proxy: Record<string, unknown> = { keepContentEncoding: true }
  if (options.retries !== undefined) proxy.retries = options.retries
  if (options.timeoutMs !== undefined) proxy.timeout = options.timeoutMs
  script ??= workerScript()
  const mf = new Miniflare({
    modules: true,
    script: await script,
    host: '127.0.0.1',
    port: 0,
    compatibilityDate: '2025-07-01',
    bindings: { OPTIONS: { ...options.balancer, proxy } } as unknown as Record<string, never>,
    outboundService: { network: { allow: ['local'] } },
  })
  let url: URL
  try {
    url = await mf.ready
  } catch (error) {
    await mf.dispose()
    throw error
  }
  const base = url.origin
  return {
    url: base,
    close: () => mf.dispose(),
    throwMarker: THREW,
    usable: async (address, cookie) => {
      const response = await fetch(`${base}${USABLE}?address=${encodeURIComponent(address)}`, { headers: { 'x-kit-cookie': cookie } })
      return ((await response.json()) as { usable: boolean }).usable
    },
  }
}

// workerd runs in its own process already; the factory drives it from here.
const factory = inProcessFactory(build)
runHostilePeers('sticky-fetch (workerd)', factory, {
  runs: 0.6,
  limits: {
    'interim-as-final': "workerd's fetch resolves with the first interim (1xx) response as the answer, and the real answer is lost",
    'protocol-as-lost-connection': 'workerd rejects bytes that are not HTTP as it does a lost connection ("Network connection lost.")',
    'lenient-content-length': 'workerd drops an empty Content-Length and reads the body to the close, so the handler never sees it',
    'bad-chunk-ends-body': 'workerd ends a chunked body at a chunk size that overflows as if it were the last chunk, and reports no error',
    'cut-ends-cleanly':
      "workerd's HTTP server (as Miniflare runs it) ends a chunked response whose body stream failed with the last chunk, so the client cannot tell the cut",
    'early-answer-lost-to-reset':
      "workerd reads a peer's early answer late enough that the peer's reset can discard its body (a TCP race no handler can win every time)",
  },
})
runHostileClients('sticky-fetch (workerd)', factory, { runs: 0.6 })
