import type { FastifyInstance } from 'fastify'
import type { ResolvedOptions } from './options'
import { originForm } from './origin-form'
import { isUnderPrefix } from './prefix'

/**
 * Decide-only mode: an `onRequest` hook on the registering context sets `request.sticky` and
 * appends the cookie for every request under the prefix, then lets the application's routes
 * answer. A decision without a peer is left to the application too: it reads `outcome`.
 */
export function addDecideHook(fastify: FastifyInstance, options: ResolvedOptions): void {
  const { balancer, prefix } = options
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!isUnderPrefix(originForm(request.url), prefix)) {
      done()
      return
    }
    const decision = balancer.decide(request.headers.cookie)
    request.sticky = decision
    if (decision.setCookie !== null) reply.header('set-cookie', decision.setCookie)
    done()
  })
}
