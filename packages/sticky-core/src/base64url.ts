/** The URL- and filename-safe alphabet of RFC 4648 section 5: every character is allowed in a cookie value. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Character code to 6-bit value, or -1 for every code outside the alphabet (`+`, `/`, `=` included). */
const VALUE_OF: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1)
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i
  return table
})()

/**
 * Encodes bytes as base64url without padding (RFC 4648 section 5, padding omitted as section 3.2
 * allows): the form that can sit in a cookie value or a header without quoting or escaping.
 *
 * @param bytes - the bytes to encode; may be empty.
 * @returns `ceil(4 * bytes.length / 3)` characters of `A-Z a-z 0-9 - _`.
 */
export function encodeBase64Url(bytes: Uint8Array): string {
  let text = ''
  const whole = bytes.length - (bytes.length % 3)
  for (let i = 0; i < whole; i += 3) {
    const group = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    text += ALPHABET[group >>> 18]! + ALPHABET[(group >>> 12) & 63]! + ALPHABET[(group >>> 6) & 63]! + ALPHABET[group & 63]!
  }
  const rest = bytes.length - whole
  if (rest === 1) {
    const group = bytes[whole]! << 16
    text += ALPHABET[group >>> 18]! + ALPHABET[(group >>> 12) & 63]!
  } else if (rest === 2) {
    const group = (bytes[whole]! << 16) | (bytes[whole + 1]! << 8)
    text += ALPHABET[group >>> 18]! + ALPHABET[(group >>> 12) & 63]! + ALPHABET[(group >>> 6) & 63]!
  }
  return text
}

/**
 * Decodes `text.slice(start, end)` as unpadded base64url into all of `out`, strictly: the span must be
 * exactly as long as the encoding of `out.length` bytes, use only the base64url alphabet (no `+`, `/`,
 * `=`, whitespace) and be canonical (the bits a final partial group leaves unused are zero, RFC 4648
 * section 3.5). So every byte string has exactly one accepted text: a value cannot be re-encoded into
 * another string that decodes to the same bytes.
 *
 * Reads the string in place and writes into the caller's buffer: a decode allocates nothing.
 *
 * @returns false, with `out` partly written, when the span is not the canonical encoding of `out.length` bytes.
 */
export function decodeBase64UrlInto(text: string, start: number, end: number, out: Uint8Array): boolean {
  const length = out.length
  if (end - start !== encodedLength(length)) return false
  let at = start
  let i = 0
  const whole = length - (length % 3)
  for (; i < whole; i += 3, at += 4) {
    const a = valueAt(text, at)
    const b = valueAt(text, at + 1)
    const c = valueAt(text, at + 2)
    const d = valueAt(text, at + 3)
    if ((a | b | c | d) < 0) return false
    const group = (a << 18) | (b << 12) | (c << 6) | d
    out[i] = group >>> 16
    out[i + 1] = group >>> 8
    out[i + 2] = group
  }
  const rest = length - whole
  if (rest === 1) {
    const a = valueAt(text, at)
    const b = valueAt(text, at + 1)
    // Two characters carry 12 bits for 8: the last 4 must be zero.
    if ((a | b) < 0 || (b & 0x0f) !== 0) return false
    out[i] = (a << 2) | (b >>> 4)
  } else if (rest === 2) {
    const a = valueAt(text, at)
    const b = valueAt(text, at + 1)
    const c = valueAt(text, at + 2)
    // Three characters carry 18 bits for 16: the last 2 must be zero.
    if ((a | b | c) < 0 || (c & 0x03) !== 0) return false
    const group = (a << 18) | (b << 12) | (c << 6)
    out[i] = group >>> 16
    out[i + 1] = group >>> 8
  }
  return true
}

/** Characters of the unpadded base64url encoding of `byteLength` bytes. */
export function encodedLength(byteLength: number): number {
  return Math.ceil((byteLength * 4) / 3)
}

/** The 6-bit value of the character at `index`, or -1 when it is outside the alphabet. */
function valueAt(text: string, index: number): number {
  const code = text.charCodeAt(index)
  return code < 128 ? VALUE_OF[code]! : -1
}
