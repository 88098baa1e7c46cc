import type { Decision } from 'sticky-core'
import { stickyProxy } from './plugin'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The sticky balancer's decision for this request, set by `sticky-fastify` for requests under
     * its prefix (`null` elsewhere). On a retried request it is the last decision, the one whose
     * peer answered.
     */
    sticky: Decision | null
  }
}

export { stickyProxy }
export default stickyProxy
export { StickyGatewayError } from './gateway-error'
export type { GatewayErrorCode } from './gateway-error'
export type {
  FastifyRequestEvent,
  FastifyResponseEvent,
  FastifyUpgradeEvent,
  ReplyFromOptions,
  StickyBalancerSource,
  StickyFastifyOptions,
  StickyFastifyPluginOptions,
} from './options'
export type { Balancer, BalancerOptions, Decision, ExchangeError, ExchangeEvent, Outcome, Peer, SharedProxyOptions, XForwardedOptions } from 'sticky-core'
