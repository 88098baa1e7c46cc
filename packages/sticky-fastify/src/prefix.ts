import { StickyConfigError } from 'sticky-core'

/**
 * Normalises a route prefix the way Fastify's `prefix` does: a leading `/`, no trailing `/`,
 * and `''` for the root. Characters that Fastify's router reads as parameters or wildcards are
 * rejected, because the proxied URL space must be a literal path.
 *
 * @param option - the option's name, for the error message (`prefix` or `rewritePrefix`)
 * @throws StickyConfigError when the value is not a literal path
 */
export function normalizePrefix(option: string, value: string | undefined): string {
  if (value === undefined) return ''
  if (typeof value !== 'string') throw new StickyConfigError(option, value, 'expected a string')
  // eslint-disable-next-line no-control-regex
  if (/[\s:*?#%\u0000-\u001f\u007f]/.test(value)) {
    throw new StickyConfigError(option, value, 'expected a literal path without parameters, wildcards or a query')
  }
  let prefix = value.startsWith('/') ? value : `/${value}`
  while (prefix.endsWith('/')) prefix = prefix.slice(0, -1)
  return prefix
}

/**
 * Whether a request URL (path and query) lies under a normalised prefix: the prefix itself,
 * or the prefix followed by `/` or `?`. `/api` covers `/api`, `/api/x` and `/api?q`, not `/apix`.
 */
export function isUnderPrefix(url: string, prefix: string): boolean {
  if (prefix === '') return true
  if (!url.startsWith(prefix)) return false
  const next = url.charCodeAt(prefix.length)
  // NaN: the URL is exactly the prefix; 47 is '/', 63 is '?'.
  return Number.isNaN(next) || next === 47 || next === 63
}

/**
 * The upstream path for a request URL that matched under `prefix`: the prefix is replaced by
 * `rewritePrefix` (`''` strips it, the prefix itself keeps it), the query is left out (the
 * proxy carries it over unchanged), and the result always starts with `/`.
 */
export function upstreamPath(url: string, prefix: string, rewritePrefix: string): string {
  const query = url.indexOf('?')
  const path = query === -1 ? url : url.slice(0, query)
  const rest = path.slice(prefix.length)
  const rewritten = rewritePrefix + rest
  if (rewritten === '') return '/'
  return rewritten.startsWith('/') ? rewritten : `/${rewritten}`
}
