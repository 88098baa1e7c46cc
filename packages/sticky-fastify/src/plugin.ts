import type { FastifyInstance, FastifyPluginCallback } from 'fastify'
import fp from 'fastify-plugin'
import { addDecideHook } from './decide'
import { resolveOptions } from './options'
import type { StickyFastifyOptions } from './options'
import { registerProxy } from './proxy'

function sticky(fastify: FastifyInstance, options: StickyFastifyOptions, done: (error?: Error) => void): void {
  const resolved = resolveOptions(options)
  // A second instance of the plugin in the same context shares the decorator, not the value.
  if (!fastify.hasRequestDecorator('sticky')) fastify.decorateRequest('sticky', null)
  if (resolved.proxy) {
    fastify.register((instance, _opts, registered) => {
      registerProxy(instance, resolved)
      registered()
    }, { prefix: resolved.prefix })
  } else {
    addDecideHook(fastify, resolved)
  }
  done()
}

/**
 * The `sticky-fastify` plugin: cookie-based sticky load balancing (nginx's `sticky cookie`) in
 * front of the peers given in its options.
 *
 * With `proxy: true` (the default) every request under `prefix` goes, through a private
 * `@fastify/reply-from`, to the peer the balancer chose; the balancer's `Set-Cookie` is appended
 * to the upstream's own. With `proxy: false` an `onRequest` hook only decides. Either way
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
