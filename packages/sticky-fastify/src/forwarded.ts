import { forwardedFields, forwardedNames, upstreamHost } from 'sticky-core'
import type { ForwardedSelection, Peer } from 'sticky-core'
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

/**
 * `headers` (already without hop-by-hop fields) as they go to `peer`, by sticky-core's rules:
 * `Host` names the peer (`upstreamHost`), and the `X-Forwarded-*` fields `select` names
 * (`forwardedFields`) replace the client's own, `X-Forwarded-For` extending its chain. The client's
 * fields that `select` leaves out pass through untouched.
 */
export function upstreamHeaders<T extends HeaderMap>(headers: T, peer: Peer, client: ClientConnection, select: ForwardedSelection): T {
  const out: HeaderMap = { ...headers }
  for (const name of forwardedNames(select)) delete out[name]
  const incoming = headers['x-forwarded-for']
  const fields = forwardedFields(
    {
      forwardedFor: typeof incoming === 'number' ? String(incoming) : incoming,
      client: client.address,
      proto: client.protocol,
      host: client.host,
    },
    select,
  )
  for (let i = 0; i + 1 < fields.length; i += 2) out[(fields[i] as string).toLowerCase()] = fields[i + 1] as string
  out['host'] = upstreamHost(peer)
  return out as T
}
