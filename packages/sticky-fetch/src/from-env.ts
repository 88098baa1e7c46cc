import { optionsFromEnv } from './env'
import type { StickyEnv } from './env'
import { createStickyFetch } from './handler'
import type { FetchHandler, StickyFetch } from './handler'
import type { StickyFetchOptions } from './options'

/** Options of {@link createStickyFetchFromEnv}; `E` is the Worker's own `Env` type. */
export interface StickyFetchFromEnvOptions<E extends object = StickyEnv> {
  /**
   * Adjusts the options read from the environment before the handler is built, for what bindings cannot
   * express: a clock, a service binding as `proxy.fetch`, a `proxy.clientAddress`.
   * @default the options unchanged
   */
  configure?: ((options: StickyFetchOptions, env: E) => StickyFetchOptions) | undefined
}

/**
 * A fetch handler configured by environment bindings (see {@link optionsFromEnv}), for Workers where the
 * configuration only arrives with the first request.
 *
 * The balancer is built once per `env` object, which a Worker isolate keeps for its lifetime, so passive
 * health tracking and round robin carry over between requests of one isolate. The cache is a `WeakMap`
 * inside the returned handler: no module-level state, and a discarded `env` frees its balancer.
 *
 * An invalid environment throws `StickyConfigError` (naming the variable) from every request, so the
 * runtime answers 500 and logs the reason: the public response never describes the configuration.
 */
export function createStickyFetchFromEnv<E extends object = StickyEnv>(options: StickyFetchFromEnvOptions<E> = {}): FetchHandler {
  const built = new WeakMap<object, StickyFetch | Error>()
  return async (request, env, ctx) => {
    if (typeof env !== 'object' || env === null) {
      throw new TypeError('sticky: createStickyFetchFromEnv needs the env bindings as the second argument')
    }
    let handler = built.get(env)
    if (handler === undefined) {
      handler = build(env as E, options)
      built.set(env, handler)
    }
    if (handler instanceof Error) throw handler
    return handler(request, env, ctx)
  }
}

function build<E extends object>(env: E, options: StickyFetchFromEnvOptions<E>): StickyFetch | Error {
  try {
    const fromEnv = optionsFromEnv(env)
    return createStickyFetch(options.configure === undefined ? fromEnv : options.configure(fromEnv, env))
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error))
  }
}
