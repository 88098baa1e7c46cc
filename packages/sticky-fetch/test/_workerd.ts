import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'

const packageDir = join(__dirname, '..')

/**
 * The Worker the tests run in workerd, written against the BUILT package so that what is tested is what
 * ships. `MODE=options` builds the handler from the JSON binding `OPTIONS` (functions cannot cross into
 * workerd); `MODE=env` uses `createStickyFetchFromEnv` on the `STICKY_*` bindings.
 */
const ENTRY = `
import { createStickyFetch, createStickyFetchFromEnv } from './dist/index.js'

const fromEnv = createStickyFetchFromEnv()
let fromOptions

export default {
  fetch(request, env, ctx) {
    if (env.MODE === 'env') return fromEnv(request, env, ctx)
    fromOptions ??= createStickyFetch(env.OPTIONS)
    return fromOptions(request, env, ctx)
  },
}
`

let bundled: Promise<string> | undefined

/** The Worker above as one ES module, bundled once per test process. */
export function workerScript(): Promise<string> {
  bundled ??= bundle()
  return bundled
}

async function bundle(): Promise<string> {
  if (!existsSync(join(packageDir, 'dist', 'index.js'))) {
    throw new Error('sticky-fetch is not built: run `npx tsup` in the package first')
  }
  const result = await build({
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

/** A Worker running in its own workerd process, listening on 127.0.0.1. */
export interface RunningWorker {
  /** Base URL without a trailing slash. */
  readonly url: string
  close(): Promise<void>
}

/** Starts the test Worker in workerd with `bindings` (JSON values only). */
export async function startWorker(bindings: Record<string, unknown>): Promise<RunningWorker> {
  const mf = new Miniflare({
    modules: true,
    script: await workerScript(),
    host: '127.0.0.1',
    port: 0,
    compatibilityDate: '2025-07-01',
    bindings: bindings as Record<string, never>,
    // Miniflare's default outbound network already allows private (incl. loopback) addresses; saying so
    // here keeps the test independent of that default. No proxy sits between workerd and the backends.
    outboundService: { network: { allow: ['local'] } },
  })
  try {
    const url = await mf.ready
    return { url: url.origin, close: () => mf.dispose() }
  } catch (error) {
    await mf.dispose()
    throw error
  }
}
