// The Workers of the proxy comparison, served by workerd itself (no Miniflare, no Node in between): the
// sticky-fetch Worker configured by its STICKY_PEERS binding, and the pass-through Worker it is measured
// against, which does nothing but hand the request to a backend with fetch.
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { build } from 'esbuild'

/** The Worker a subject runs: sticky-fetch on its bindings, or the pass-through floor. */
export type WorkerKind = 'sticky-fetch' | 'pass-through'

/** The compatibility date both Workers run with, within what the pinned workerd supports. */
export const COMPATIBILITY_DATE = '2025-07-01'

/** The module name of the Worker inside the workerd config, embedded from a file of that name beside it. */
export const WORKER_MODULE = 'worker.js'

/** `STICKY_PEERS` for backends on 127.0.0.1: plain `ip:port` peers, reached over http, as sticky-node names them. */
export function stickyPeers(ports: readonly number[]): string {
  return ports.map((p) => `127.0.0.1:${p}`).join(', ')
}

/**
 * The pass-through Worker: round robin over `ports` (so that new clients reach every backend, as the
 * bare Node proxy's do) and `fetch(url, request)`, the least a Worker proxying to an origin does.
 */
export function passThroughWorker(ports: readonly number[]): string {
  return `const hosts = ${JSON.stringify(ports.map((p) => `127.0.0.1:${p}`))}
let next = 0
export default {
  fetch(request) {
    const url = new URL(request.url)
    url.host = hosts[next]
    next = (next + 1) % hosts.length
    return fetch(url, request)
  },
}
`
}

/** The sticky-fetch Worker's entry, as the package README shows it: everything comes from the bindings. */
const STICKY_ENTRY = `import { createStickyFetchFromEnv } from 'sticky-fetch'
export default { fetch: createStickyFetchFromEnv() }
`

/**
 * The sticky-fetch Worker as one ES module, bundled from the built package (what ships), once per process.
 * @throws Error when sticky-fetch is not built.
 */
export function stickyFetchWorker(): Promise<string> {
  bundled ??= bundleStickyFetch()
  return bundled
}

let bundled: Promise<string> | undefined

async function bundleStickyFetch(): Promise<string> {
  const result = await build({
    stdin: { contents: STICKY_ENTRY, resolveDir: dirname(new URL(import.meta.url).pathname), loader: 'js', sourcefile: 'worker.js' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    // The import condition picks dist/, never the development sources, whatever this process runs under.
    conditions: ['workerd', 'worker', 'import'],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  }).catch((error: unknown) => {
    bundled = undefined
    throw new Error(`could not bundle the sticky-fetch Worker (is sticky-fetch built? pnpm build): ${error instanceof Error ? error.message : String(error)}`)
  })
  const output = result.outputFiles[0]
  if (output === undefined) throw new Error('esbuild produced no output for the sticky-fetch Worker')
  return output.text
}

/** Text as a Cap'n Proto string literal (JSON's escapes are a subset of what capnp reads). */
function capnpString(text: string): string {
  return JSON.stringify(text)
}

/**
 * The workerd config serving one Worker on 127.0.0.1:`port`: its module embedded from {@link WORKER_MODULE}
 * beside the config, `bindings` as text bindings, and an outbound network that may reach loopback (the
 * backends; workerd's default allows public addresses only).
 */
export function workerdConfig(port: number, bindings: Readonly<Record<string, string>>): string {
  const texts = Object.entries(bindings).map(([name, text]) => `(name = ${capnpString(name)}, text = ${capnpString(text)})`)
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["local", "private", "public"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [ (name = "${WORKER_MODULE}", esModule = embed "${WORKER_MODULE}") ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  bindings = [ ${texts.join(', ')} ],
  globalOutbound = "loopback",
);
`
}

/**
 * The workerd binary of the `workerd` package (its platform package's executable), run directly so that
 * the process tree measured is workerd's alone.
 */
export function workerdBinary(): string {
  const workerd = createRequire(import.meta.url)('workerd') as { default?: string } | string
  const path = typeof workerd === 'string' ? workerd : workerd.default
  if (typeof path !== 'string') throw new Error('the workerd package names no binary')
  return path
}
