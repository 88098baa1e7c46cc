/**
 * The origin form (path and query) of a request target (RFC 9112 section 3.2). Node leaves an
 * absolute-form target (`GET http://other.example/a HTTP/1.1`) in `request.url` while Fastify's
 * router matches its path; only that path may reach the peer, never the scheme or the authority.
 * Any other target is returned unchanged. The path is kept as sent, not normalised.
 */
export function originForm(url: string): string {
  if (url.startsWith('/')) return url
  const schemeEnd = url.indexOf('://')
  if (schemeEnd === -1) return url
  const scheme = url.slice(0, schemeEnd).toLowerCase()
  if (scheme !== 'http' && scheme !== 'https') return url
  const authorityStart = schemeEnd + 3
  for (let i = authorityStart; i < url.length; i++) {
    const c = url.charCodeAt(i)
    // 47 is '/', 63 is '?': the authority ends at the first of them.
    if (c === 47) return url.slice(i)
    if (c === 63) return `/${url.slice(i)}`
  }
  return '/'
}
