/**
 * Every `Set-Cookie` header of `headers`, one string per header.
 *
 * Uses `Headers.prototype.getSetCookie` where the runtime has it. Older runtimes only offer the
 * comma-joined value of `get('set-cookie')`; that is split at each comma followed by a new `name=`,
 * which a comma inside `Expires=Wed, 21 Oct 2015 ...` never is (RFC 6265 section 4.1.1).
 */
export function getSetCookies(headers: Headers): string[] {
  if (typeof headers.getSetCookie === 'function') return headers.getSetCookie()
  const joined = headers.get('set-cookie')
  return joined === null ? [] : splitSetCookie(joined)
}

/**
 * Splits a comma-joined list of `Set-Cookie` values (as older `Headers.get` returns it) into the original
 * header values. Never throws; empty pieces are dropped.
 */
export function splitSetCookie(joined: string): string[] {
  const cookies: string[] = []
  let start = 0
  for (let i = 0; i < joined.length; i++) {
    if (joined.charCodeAt(i) !== 0x2c || !startsCookie(joined, i + 1)) continue
    pushTrimmed(cookies, joined.slice(start, i))
    start = i + 1
  }
  pushTrimmed(cookies, joined.slice(start))
  return cookies
}

/** Whether a `name=` pair (RFC 6265 cookie-name: a token) begins at `from`, after optional spaces. */
function startsCookie(text: string, from: number): boolean {
  let i = from
  while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++
  const nameStart = i
  while (i < text.length && isTokenChar(text.charCodeAt(i))) i++
  return i > nameStart && text[i] === '='
}

// RFC 9110 section 5.6.2 tchar, without `=` which ends the name.
function isTokenChar(code: number): boolean {
  if (code >= 0x30 && code <= 0x39) return true
  if ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a) return true
  return "!#$%&'*+-.^_`|~".includes(String.fromCharCode(code)) && code < 0x7f
}

function pushTrimmed(into: string[], piece: string): void {
  const trimmed = piece.trim()
  if (trimmed !== '') into.push(trimmed)
}
