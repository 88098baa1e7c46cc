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
