import { randomUUID } from 'node:crypto'
import { forwardedFields, forwardedNames, requestIdFor, upstreamHost } from 'sticky-core'
import type { ForwardedSelection, Peer, ResolvedSharedProxyOptions } from 'sticky-core'
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

/** The forwarding options worked out once per plugin instance, for what every request would recompute. */
export interface ForwardingPlan {
  readonly xForwarded: ForwardedSelection
  /** The fields the proxy writes itself (sticky-core's `forwardedNames`): the client's are dropped. */
  readonly replaced: readonly string[]
  /** `proxy.requestId` in lower case, the key of header maps; `undefined` when off. */
  readonly requestIdField: string | undefined
}

/** The {@link ForwardingPlan} of `rules`. */
export function forwardingPlan(rules: ForwardingRules): ForwardingPlan {
  return {
    xForwarded: rules.xForwarded,
    replaced: forwardedNames(rules.xForwarded),
    requestIdField: rules.requestId?.toLowerCase(),
  }
}

/** The header map keys of the names `forwardedFields` writes, without lower-casing each time. */
const LOWER: Readonly<Record<string, string>> = {
  'X-Forwarded-For': 'x-forwarded-for',
  'X-Forwarded-Proto': 'x-forwarded-proto',
  'X-Forwarded-Host': 'x-forwarded-host',
  Forwarded: 'forwarded',
}

function lines(value: HeaderMap[string]): string | string[] | undefined {
  return typeof value === 'number' ? String(value) : value
}

/**
 * The request's id when `proxy.requestId` is on: a trusted proxy's own when sane, else a new random
 * UUID (sticky-core's `requestIdFor`).
 *
 * @param trusted - whether the client's connection comes from a trusted proxy (`proxy.trustProxy`)
 */
export function requestIdOf(plan: ForwardingPlan, headers: HeaderMap, trusted: boolean): string | undefined {
  if (plan.requestIdField === undefined) return undefined
  return requestIdFor(lines(headers[plan.requestIdField]), trusted, randomUUID)
}

/**
 * Rewrites `headers`, the caller's own copy without hop-by-hop fields, by sticky-core's rules for
 * the way to `peer`: the forwarding fields (`forwardedFields`) replace the client's own, kept and
 * extended from a trusted proxy, this hop's alone from anyone else; the request id, when on,
 * replaces the client's; `Host` names the peer (`upstreamHost`). The client's fields that
 * `xForwarded` leaves out pass through untouched.
 *
 * @param trusted - whether the client's connection comes from a trusted proxy (`proxy.trustProxy`)
 */
export function writeForwarding(
  headers: HeaderMap,
  peer: Peer,
  client: ClientConnection,
  plan: ForwardingPlan,
  trusted: boolean,
  requestId: string | undefined,
): void {
  if (plan.replaced.length > 0) {
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
      plan.xForwarded,
    )
    // Only what the client sent is deleted: a field deleted from an object makes V8 turn it into a slow hash map.
    for (const name of plan.replaced) if (name in headers) delete headers[name]
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i] as string
      headers[LOWER[name] ?? name.toLowerCase()] = fields[i + 1] as string
    }
  }
  if (plan.requestIdField !== undefined && requestId !== undefined) headers[plan.requestIdField] = requestId
  headers['host'] = upstreamHost(peer)
}

/**
 * `headers` (already without hop-by-hop fields) as they go to `peer`, by sticky-core's rules:
 * `Host` names the peer (`upstreamHost`), and the forwarding fields (`forwardedFields`) replace the
 * client's own: kept and extended from a trusted proxy, this hop's alone from anyone else. The
 * client's fields that `xForwarded` leaves out pass through untouched. The request id, when on,
 * replaces the client's. `headers` is left as it is.
 */
export function upstreamHeaders<T extends HeaderMap>(
  headers: T,
  peer: Peer,
  client: ClientConnection,
  rules: ForwardingRules,
  requestId: string | undefined,
): T {
  const out: HeaderMap = { ...headers }
  writeForwarding(out, peer, client, forwardingPlan(rules), rules.trustProxy.trusts(client.address), requestId)
  return out as T
}
