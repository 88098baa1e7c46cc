import { joinCookieParts, type SetCookieParts } from './cookie'
import { HTTP_DATE_MAX } from './http-date'

/**
 * The `Set-Cookie` header that pins a client to one peer. Everything but `Expires` is rendered at
 * configuration time; with a lifetime, `Expires` moves with the clock, so the rendered header is cached
 * for the current second: a request allocates no string unless the second changed since the last one.
 */
export interface PinCookie {
  readonly parts: SetCookieParts
  /** Seconds, or undefined for a session cookie (no `Expires`, no `Max-Age`). */
  readonly lifetime: number | undefined
  /** The second (of the clock) {@link PinCookie.text} was rendered for. */
  second: number
  text: string
}

/** A pin cookie from its validated parts; `lifetime` in seconds adds `Expires`. */
export function createPinCookie(parts: SetCookieParts, lifetime: number | undefined): PinCookie {
  return { parts, lifetime, second: Number.NaN, text: joinCookieParts(parts) }
}

/** Whether the header is the same at every instant (no `Expires`). */
export function isConstantPinCookie(cookie: PinCookie): boolean {
  return cookie.lifetime === undefined
}

/**
 * The header at `now` (milliseconds): `Expires` is the current second plus the lifetime, as nginx
 * computes `ngx_time() + expires`. An expiry before 1970 or after 9999 (a broken clock) drops `Expires`
 * (user agents honour `Max-Age` first) rather than throw on the request path.
 */
export function renderPinCookie(cookie: PinCookie, now: number): string {
  if (cookie.lifetime === undefined) return cookie.text
  const second = Math.floor(now / 1000)
  if (second === cookie.second) return cookie.text
  const expires = (second + cookie.lifetime) * 1000
  cookie.second = second
  cookie.text = expires >= 0 && expires <= HTTP_DATE_MAX ? joinCookieParts(cookie.parts, expires) : joinCookieParts(cookie.parts)
  return cookie.text
}
