/**
 * Encodes a string as UTF-8 exactly as the WHATWG `TextEncoder` does: surrogate pairs become one
 * four-byte sequence and a lone surrogate becomes U+FFFD (`EF BF BD`), so digests of the same text
 * agree with every runtime's encoder. It needs no global beyond ECMAScript, which keeps the core
 * runnable where `TextEncoder` is absent or patched.
 *
 * @param text - any JavaScript string, well-formed or not.
 * @returns a new array holding exactly the encoded bytes.
 * @see RFC 3629 section 3 (UTF-8 definition); WHATWG Encoding Standard, "UTF-8 encode".
 */
export function utf8Encode(text: string): Uint8Array {
  const bytes = new Uint8Array(utf8Length(text))
  let at = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit < 0x80) {
      bytes[at++] = unit
      continue
    }
    if (unit < 0x800) {
      bytes[at++] = 0xc0 | (unit >> 6)
      bytes[at++] = 0x80 | (unit & 0x3f)
      continue
    }
    if (isLeadSurrogate(unit) && i + 1 < text.length && isTrailSurrogate(text.charCodeAt(i + 1))) {
      const codePoint = 0x10000 + ((unit - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00)
      bytes[at++] = 0xf0 | (codePoint >> 18)
      bytes[at++] = 0x80 | ((codePoint >> 12) & 0x3f)
      bytes[at++] = 0x80 | ((codePoint >> 6) & 0x3f)
      bytes[at++] = 0x80 | (codePoint & 0x3f)
      continue
    }
    // A surrogate that is not half of a pair has no scalar value; TextEncoder substitutes U+FFFD.
    const scalar = unit >= 0xd800 && unit <= 0xdfff ? 0xfffd : unit
    bytes[at++] = 0xe0 | (scalar >> 12)
    bytes[at++] = 0x80 | ((scalar >> 6) & 0x3f)
    bytes[at++] = 0x80 | (scalar & 0x3f)
  }
  return bytes
}

/** Sized first so that the output is allocated once, at its exact length. */
function utf8Length(text: string): number {
  let length = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit < 0x80) length += 1
    else if (unit < 0x800) length += 2
    else if (isLeadSurrogate(unit) && i + 1 < text.length && isTrailSurrogate(text.charCodeAt(i + 1))) {
      length += 4
      i++
    } else length += 3
  }
  return length
}

function isLeadSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff
}

function isTrailSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff
}
