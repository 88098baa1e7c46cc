import { randomUUID } from 'node:crypto'
import { forwardedFields, forwardedNames, requestIdFor, upstreamHost } from 'sticky-core'
import type { Peer, ResolvedSharedProxyOptions } from 'sticky-core'
import type { HeaderMap } from './hop-by-hop'

/** What the proxy knows about the client connection. */
export interface ClientConnection {
  /** The address of the socket the request came from; `undefined` once the socket is gone. */
  readonly address: string | undefined
  /** `http` or `https`, as Fastify reports it (it honours `trustProxy`). */
  readonly protocol: string
  /** The host the client asked for. */
  readonly host: string | undefined
}

/** The forwarding options of the plugin (`proxy.xForwarded`, `proxy.trustProxy`, `proxy.requestId`). */
export type ForwardingRules = Pick<ResolvedSharedProxyOptions, 'xForwarded' | 'trustProxy' | 'requestId'>

function lines(value: HeaderMap[string]): string | string[] | undefined {
  return typeof value === 'number' ? String(value) : value
}

/**
 * The request's id when `proxy.requestId` is on: a trusted proxy's own when sane, else a new random
 * UUID (sticky-core's `requestIdFor`).
 */
export function requestIdOf(rules: ForwardingRules, headers: HeaderMap, address: string | undefined): string | undefined {
  if (rules.requestId === undefined) return undefined
  return requestIdFor(lines(headers[rules.requestId.toLowerCase()]), rules.trustProxy.trusts(address), randomUUID)
}

/**
 * `headers` (already without hop-by-hop fields) as they go to `peer`, by sticky-core's rules:
 * `Host` names the peer (`upstreamHost`), and the forwarding fields (`forwardedFields`) replace the
 * client's own: kept and extended from a trusted proxy, this hop's alone from anyone else. The
 * client's fields that `xForwarded` leaves out pass through untouched. The request id, when on,
 * replaces the client's.
 */
export function upstreamHeaders<T extends HeaderMap>(
  headers: T,
  peer: Peer,
  client: ClientConnection,
  rules: ForwardingRules,
  requestId: string | undefined,
): T {
  const out: HeaderMap = { ...headers }
  const select = rules.xForwarded
  for (const name of forwardedNames(select)) delete out[name]
  const trusted = rules.trustProxy.trusts(client.address)
  const fields = forwardedFields(
    {
      forwardedFor: lines(headers['x-forwarded-for']),
      forwardedProto: lines(headers['x-forwarded-proto']),
      forwardedHost: lines(headers['x-forwarded-host']),
      forwarded: lines(headers['forwarded']),
      client: client.address,
      proto: client.protocol,
      host: client.host,
      trusted,
    },
    select,
  )
  for (let i = 0; i + 1 < fields.length; i += 2) out[(fields[i] as string).toLowerCase()] = fields[i + 1] as string
  if (rules.requestId !== undefined && requestId !== undefined) out[rules.requestId.toLowerCase()] = requestId
  out['host'] = upstreamHost(peer)
  return out as T
}
