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
 * `headers` with the de-facto `X-Forwarded-*` fields set for the upstream: the client's address is
 * appended to an existing `X-Forwarded-For` chain (nginx `$proxy_add_x_forwarded_for`), `Proto`
 * and `Host` are replaced, so a client cannot pass its own values through this hop.
 */
export function addForwarded<T extends HeaderMap>(headers: T, client: ClientConnection): T {
  const out: HeaderMap = { ...headers }
  if (client.address !== undefined) {
    const chain = headers['x-forwarded-for']
    const prior = Array.isArray(chain) ? chain.join(', ') : chain === undefined ? '' : String(chain).trim()
    out['x-forwarded-for'] = prior === '' ? client.address : `${prior}, ${client.address}`
  }
  out['x-forwarded-proto'] = client.protocol
  if (client.host !== undefined && client.host !== '') out['x-forwarded-host'] = client.host
  else delete out['x-forwarded-host']
  return out as T
}
