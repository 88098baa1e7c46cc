import type { IncomingHttpHeaders } from 'node:http'
import type { Balancer, Decision } from 'sticky-core'
import type { HeaderMap } from './hop-by-hop'

/**
 * `headers` with `cookie` appended to its `Set-Cookie` values. The upstream's own cookies stay
 * first and untouched: a proxy adds its cookie beside them, never in their place
 * (RFC 6265 section 3: several `Set-Cookie` fields are never folded into one).
 */
export function appendSetCookie<T extends HeaderMap>(headers: T, cookie: string | null): T {
  if (cookie === null) return headers
  const existing = headers['set-cookie']
  let values: string[]
  if (existing === undefined) values = [cookie]
  else if (Array.isArray(existing)) values = [...existing, cookie]
  else values = [String(existing), cookie]
  return { ...headers, 'set-cookie': values }
}

/**
 * The request's value of the balancer's header carrier (`header` option), for `decide`; undefined when
 * the option is off or the header is absent.
 */
export function carriedPin(balancer: Balancer, headers: IncomingHttpHeaders): string | undefined {
  const name = balancer.header
  if (name === undefined) return undefined
  const value = headers[name.toLowerCase()]
  return Array.isArray(value) ? value[0] : value
}

/**
 * `headers` with the decision's pin: its `Set-Cookie` appended, and with the header carrier that header
 * set, in place of any copy the peer sent (the proxy owns the pin; two values would leave the client to
 * guess which one counts).
 */
export function appendPin<T extends HeaderMap>(headers: T, decision: Decision, balancer: Balancer): T {
  const withCookie = appendSetCookie(headers, decision.setCookie)
  const name = balancer.header
  if (name === undefined || decision.headerValue === null) return withCookie
  return { ...withCookie, [name.toLowerCase()]: decision.headerValue }
}
