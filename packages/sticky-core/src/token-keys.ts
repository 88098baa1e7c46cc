import type { TokenKey } from './token'
import { utf8Encode } from './utf8'

const KEY_ID = /^[A-Za-z0-9_-]{1,8}$/
const MIN_SECRET_BYTES = 32

/** What {@link parseTokenKeys} read: the keys, or why not (the line, never its content). */
export type TokenKeysReading =
  | { readonly ok: true; readonly keys: readonly TokenKey[] }
  | {
      readonly ok: false
      /** The 1-based line at fault; `undefined` when the text holds no key at all. */
      readonly line: number | undefined
      readonly reason: string
    }

/**
 * Reads pin-token keys from the text form every adapter's configuration uses (a file named on the
 * command line, a secret environment binding): one key a line, `id:secret` (the secret is everything
 * after the first colon), blank lines and lines starting with `#` ignored, surrounding whitespace
 * dropped. The first key signs; all of them verify. The reading is returned rather than thrown so that
 * each adapter words the error for its own source; a reason names the line, never its content, since
 * a line holds a secret.
 *
 * @example
 * ```ts
 * const reading = parseTokenKeys('# rotated monthly\nnew:' + 'n'.repeat(32) + '\nold:' + 'o'.repeat(32))
 * // reading.ok === true; reading.keys[0].id === 'new'
 * ```
 */
export function parseTokenKeys(text: string): TokenKeysReading {
  const keys: TokenKey[] = []
  const lines = new Map<string, number>()
  const rows = text.split('\n')
  for (let index = 0; index < rows.length; index++) {
    const line = (rows[index] ?? '').trim()
    if (line === '' || line.startsWith('#')) continue
    const number = index + 1
    const fail = (reason: string): TokenKeysReading => ({ ok: false, line: number, reason })
    const colon = line.indexOf(':')
    if (colon === -1) return fail('expected id:secret')
    const id = line.slice(0, colon).trim()
    const secret = line.slice(colon + 1).trim()
    if (!KEY_ID.test(id)) return fail('the key id must be 1 to 8 characters of A-Z a-z 0-9 _ -')
    const first = lines.get(id)
    if (first !== undefined) return fail(`the same key id as line ${first}`)
    const bytes = utf8Encode(secret).length
    if (bytes < MIN_SECRET_BYTES) {
      return fail(`the secret is ${bytes} bytes; at least ${MIN_SECRET_BYTES} are needed (generate it, e.g. 32 random bytes in base64)`)
    }
    lines.set(id, number)
    keys.push({ id, secret })
  }
  if (keys.length === 0) return { ok: false, line: undefined, reason: 'no key: one id:secret a line, the signing key first' }
  return { ok: true, keys }
}
