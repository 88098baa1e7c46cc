/** Two-digit lowercase renderings of every byte, so encoding is one lookup per byte. */
const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'))

/**
 * Renders bytes as lowercase hexadecimal, two digits per byte, the form nginx's sticky module
 * writes digests into the cookie value (`ngx_hex_dump`).
 *
 * @param bytes - the bytes to render; may be empty.
 * @returns a string of `2 * bytes.length` characters from `0-9a-f`.
 */
export function toHex(bytes: Uint8Array): string {
  let hex = ''
  for (let i = 0; i < bytes.length; i++) hex += BYTE_HEX[bytes[i]!]
  return hex
}
