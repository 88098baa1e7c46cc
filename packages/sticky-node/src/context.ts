import type { IncomingMessage } from 'node:http'
import type { Balancer, Peer } from 'sticky-core'
import type { AgentPool } from './agents'
import { forwardedHeaders, replacedByForwarding } from './forwarded'
import { endToEndHeaders } from './hop-by-hop'
import type { ProxyResponseEvent, ResolvedProxyOptions } from './options'
import { peerHost } from './upstream'

/** What one proxy instance shares between its requests. */
export interface ProxyContext {
  readonly balancer: Balancer
  readonly options: ResolvedProxyOptions
  readonly agents: AgentPool
  readonly onResponse: ((event: ProxyResponseEvent) => void) | undefined
}

/** Peers one request may be sent to: the first plus the retries. */
export function attemptsAllowed(ctx: ProxyContext): number {
  return 1 + (ctx.options.retries ?? Math.max(0, ctx.balancer.peers.length - 1))
}

/**
 * The client's headers as the peer gets them: end-to-end fields only, minus `drop`, then the
 * `X-Forwarded-*` fields, then a `Host` naming the peer if the client sent none.
 */
export function upstreamHeaders(ctx: ProxyContext, req: IncomingMessage, peer: Peer, drop: readonly string[]): string[] {
  const xf = ctx.options.xForwarded
  const dropped = replacedByForwarding(xf)
  for (const name of drop) dropped.add(name)
  const headers = endToEndHeaders(req.rawHeaders, dropped)
  headers.push(...forwardedHeaders(req, xf))
  if (req.headers.host === undefined) headers.push('Host', peerHost(peer))
  return headers
}
