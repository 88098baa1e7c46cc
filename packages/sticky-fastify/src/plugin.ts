import type { FastifyInstance, FastifyPluginCallback } from 'fastify'
import fp from 'fastify-plugin'
import { addDecideHook } from './decide'
import { resolveOptions } from './options'
import type { ResolvedOptions, StickyFastifyOptions } from './options'
import { registerProxy } from './proxy'

function sticky(fastify: FastifyInstance, options: StickyFastifyOptions, done: (error?: Error) => void): void {
  // A callback plugin must hand configuration errors to `done`: avvio does not catch a throw.
  try {
    install(fastify, resolveOptions(options))
  } catch (error) {
    done(error as Error)
    return
  }
  done()
}

function install(fastify: FastifyInstance, options: ResolvedOptions): void {
  // A second instance of the plugin in the same context shares the decorator, not the value.
  if (!fastify.hasRequestDecorator('sticky')) fastify.decorateRequest('sticky', null)
  if (!options.forward) {
    addDecideHook(fastify, options)
    return
  }
  fastify.register(
    (instance, _opts, registered) => {
      try {
        registerProxy(instance, options)
      } catch (error) {
        registered(error as Error)
        return
      }
      registered()
    },
    { prefix: options.prefix },
  )
}

/**
 * The `sticky-fastify` plugin: cookie-based sticky load balancing (nginx's `sticky cookie`) in
 * front of the peers given in its options.
 *
 * With `forward: true` (the default) every request under `prefix` goes, through a private
 * `@fastify/reply-from`, to the peer the balancer chose; the balancer's `Set-Cookie` is appended
 * to the upstream's own. With `forward: false` an `onRequest` hook only decides. Either way
 * `request.sticky` holds the decision.
 *
 * @example
 * ```ts
 * await app.register(stickyProxy, { peers: ['127.0.0.1:3001', '127.0.0.1:3002'], prefix: '/app' })
 * ```
 */
export const stickyProxy: FastifyPluginCallback<StickyFastifyOptions> = fp(sticky, {
  name: 'sticky-fastify',
  fastify: '5.x',
})
