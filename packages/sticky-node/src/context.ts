import type { IncomingMessage } from 'node:http'
import { forwardedFields, forwardedNames, upstreamHost, type Balancer, type Peer } from 'sticky-core'
import type { AgentPool } from './agents'
import { endToEndHeaders } from './hop-by-hop'
import type { ProxyResponseEvent, ResolvedProxyOptions } from './options'

/** What one proxy instance shares between its requests. */
export interface ProxyContext {
  readonly balancer: Balancer
  readonly options: ResolvedProxyOptions
  readonly agents: AgentPool
  readonly onResponse: ((event: ProxyResponseEvent) => void) | undefined
  /** Where an exception thrown by a user's callback goes, instead of crashing the process. */
  readonly onError: (error: unknown) => void
}

/**
 * The client's headers as the peer gets them: end-to-end fields only, minus `drop`, HTTP/2
 * pseudo-headers and the client's `Host`, then the `X-Forwarded-*` fields and the peer's `Host`
 * (sticky-core's header rules).
 */
export function upstreamHeaders(ctx: ProxyContext, req: IncomingMessage, peer: Peer, drop: readonly string[]): string[] {
  const xf = ctx.options.xForwarded
  const dropped = new Set(forwardedNames(xf))
  dropped.add('host')
  for (const name of drop) dropped.add(name)
  const headers = endToEndHeaders(req.rawHeaders, dropped)
  headers.push(
    ...forwardedFields(
      {
        forwardedFor: req.headers['x-forwarded-for'] === undefined ? undefined : fieldLines(req.rawHeaders, 'x-forwarded-for'),
        client: req.socket.remoteAddress,
        proto: isEncrypted(req) ? 'https' : 'http',
        host: clientHost(req),
      },
      xf,
    ),
  )
  headers.push('Host', upstreamHost(peer))
  return headers
}

/** The host the client asked for: `Host`, or HTTP/2's `:authority`. */
function clientHost(req: IncomingMessage): string | undefined {
  return req.headers.host ?? (req.headers[':authority'] as string | undefined)
}

/** Every value of the field `name` (lower case), repeated lines apart. */
function fieldLines(rawHeaders: readonly string[], name: string): string[] {
  const lines: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name) lines.push(rawHeaders[i + 1] ?? '')
  }
  return lines
}

function isEncrypted(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: unknown }).encrypted === true
}
