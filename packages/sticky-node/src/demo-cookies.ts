/**
 * The demo browsers' cookie jar: just enough of RFC 6265 section 5.3 for one host and one path, so that
 * each simulated browser sends back what the proxy set, exactly as a real one would.
 */

/** Cookie name to value, for one origin. Never mutated: each response yields a new jar. */
export type CookieJar = ReadonlyMap<string, string>

/**
 * Applies one `Set-Cookie` header value to a jar (RFC 6265 section 5.2). `Max-Age` of zero or less, or an
 * `Expires` in the past relative to `now`, deletes the cookie. A header without `name=` is ignored.
 */
export function applySetCookie(jar: CookieJar, setCookie: string, now: number): CookieJar {
  const [pair = '', ...attributes] = setCookie.split(';')
  const eq = pair.indexOf('=')
  if (eq === -1) return jar
  const name = pair.slice(0, eq).trim()
  if (name === '') return jar
  const value = pair.slice(eq + 1).trim()
  let expired = false
  let maxAgeSeen = false
  for (const attribute of attributes) {
    const at = attribute.indexOf('=')
    const key = (at === -1 ? attribute : attribute.slice(0, at)).trim().toLowerCase()
    const argument = at === -1 ? '' : attribute.slice(at + 1).trim()
    if (key === 'max-age' && /^-?\d+$/.test(argument)) {
      // Max-Age wins over Expires (RFC 6265 section 5.3, step 3).
      maxAgeSeen = true
      expired = Number(argument) <= 0
    } else if (key === 'expires' && !maxAgeSeen) {
      const time = Date.parse(argument)
      if (!Number.isNaN(time)) expired = time <= now
    }
  }
  const next = new Map(jar)
  if (expired) next.delete(name)
  else next.set(name, value)
  return next
}

/** The `Cookie` request header for a jar (RFC 6265 section 5.4), or `undefined` when the jar is empty. */
export function cookieHeader(jar: CookieJar): string | undefined {
  if (jar.size === 0) return undefined
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
}
