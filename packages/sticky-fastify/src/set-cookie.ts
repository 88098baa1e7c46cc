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
  return { ...headers, 'set-cookie': withCookie(headers['set-cookie'], cookie) }
}

/** The `Set-Cookie` values `existing` and then `cookie`, in a new array. */
function withCookie(existing: HeaderMap[string], cookie: string): string[] {
  if (existing === undefined) return [cookie]
  if (Array.isArray(existing)) return [...existing, cookie]
  return [String(existing), cookie]
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
 * Adds the decision's pin to `headers`, the caller's own copy: its `Set-Cookie` after the upstream's
 * own (in a new array: the upstream's is left as it is), and the header carrier's field when that
 * header is set, in place of any copy the peer sent (the proxy owns the pin; two values would leave the
 * client to guess which one counts).
 */
export function addPin(headers: HeaderMap, decision: Decision, balancer: Balancer): void {
  if (decision.setCookie !== null) headers['set-cookie'] = withCookie(headers['set-cookie'], decision.setCookie)
  const name = balancer.header
  if (name !== undefined && decision.headerValue !== null) headers[name.toLowerCase()] = decision.headerValue
}

/** A copy of `headers` with the decision's pin ({@link addPin}). */
export function appendPin<T extends HeaderMap>(headers: T, decision: Decision, balancer: Balancer): T {
  const out: HeaderMap = { ...headers }
  addPin(out, decision, balancer)
  return out as T
}
