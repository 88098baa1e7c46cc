import type { FastifyInstance } from 'fastify'
import type { ResolvedOptions } from './options'
import { originForm } from './origin-form'
import { isUnderPrefix } from './prefix'
import { carriedPin } from './set-cookie'

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
    const decision = balancer.decide(request.headers.cookie, { header: carriedPin(balancer, request.headers) })
    request.sticky = decision
    if (decision.setCookie !== null) reply.header('set-cookie', decision.setCookie)
    if (decision.headerValue !== null && balancer.header !== undefined) reply.header(balancer.header, decision.headerValue)
    done()
  })
}
