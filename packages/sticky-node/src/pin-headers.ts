import type { IncomingHttpHeaders } from 'node:http'
import type { Balancer, Decision } from 'sticky-core'

/**
 * The value of the balancer's header carrier in a request (`header` option), for `decide`; undefined
 * when the option is off or the header is absent. Node joins repeated fields with `, `, and the core
 * takes the first member.
 */
export function carriedPin(balancer: Balancer, headers: IncomingHttpHeaders): string | undefined {
  const name = balancer.header
  if (name === undefined) return undefined
  const value = headers[name.toLowerCase()]
  return Array.isArray(value) ? value[0] : value
}

/**
 * Appends the decision's pin to a response's raw header list: its `Set-Cookie`, and with the header
 * carrier that header too, replacing any copy the peer sent (the proxy owns the pin; two values would
 * leave the client to guess which one counts).
 */
export function appendPin(headers: string[], decision: Decision, balancer: Balancer): string[] {
  if (decision.setCookie !== null) headers.push('Set-Cookie', decision.setCookie)
  const name = balancer.header
  if (name === undefined || decision.headerValue === null) return headers
  const lower = name.toLowerCase()
  const kept = headers.filter((_, i, all) => all[i - (i % 2)]!.toLowerCase() !== lower)
  kept.push(name, decision.headerValue)
  return kept
}
