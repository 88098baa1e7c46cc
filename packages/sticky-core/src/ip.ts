/**
 * IP literals: strict parsing of the forms a peer address may use, and printing exactly as nginx prints
 * them, because a cookie value is a digest of the printed form and must equal the one nginx computes.
 */

/** Parses a dotted quad (`127.0.0.1`): four decimal octets 0-255, without leading zeros. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(4)
  let part = 0
  let digits = 0
  let value = 0
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e
    if (c === 0x2e) {
      if (digits === 0 || part > 3) return undefined
      bytes[part++] = value
      digits = 0
      value = 0
      continue
    }
    if (c < 0x30 || c > 0x39) return undefined
    // A leading zero reads as octal to inet_aton and as decimal to nginx: refuse the ambiguity.
    if (digits === 1 && value === 0) return undefined
    value = value * 10 + (c - 0x30)
    if (++digits > 3 || value > 255) return undefined
  }
  return part === 4 ? bytes : undefined
}

/**
 * Parses an IPv6 address (RFC 4291 section 2.2): eight groups of 1-4 hex digits, at most one `::`, and an
 * optional dotted quad for the last 32 bits. Zone identifiers (`%eth0`) are refused: nginx has none.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  const bytes = new Uint8Array(16)
  const gap = text.indexOf('::')
  if (gap !== -1 && text.indexOf('::', gap + 1) !== -1) return undefined
  const head = gap === -1 ? text : text.slice(0, gap)
  const tail = gap === -1 ? '' : text.slice(gap + 2)
  const headWords = parseWords(head, gap === -1)
  const tailWords = gap === -1 ? [] : parseWords(tail, true)
  if (headWords === undefined || tailWords === undefined) return undefined
  const count = headWords.length + tailWords.length
  if (gap === -1 ? count !== 8 : count > 7) return undefined
  let at = 0
  for (const word of headWords) {
    bytes[at++] = word >> 8
    bytes[at++] = word & 0xff
  }
  at = 16 - tailWords.length * 2
  for (const word of tailWords) {
    bytes[at++] = word >> 8
    bytes[at++] = word & 0xff
  }
  return bytes
}

/** Splits one side of `::` into 16-bit words; a trailing dotted quad gives two. */
function parseWords(text: string, mayEndWithIPv4: boolean): number[] | undefined {
  if (text === '') return []
  const groups = text.split(':')
  const words: number[] = []
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g] as string
    if (g === groups.length - 1 && mayEndWithIPv4 && group.includes('.')) {
      const v4 = parseIPv4(group)
      if (v4 === undefined) return undefined
      words.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number))
      continue
    }
    if (group.length === 0 || group.length > 4) return undefined
    let word = 0
    for (let i = 0; i < group.length; i++) {
      const digit = hexDigit(group.charCodeAt(i))
      if (digit < 0) return undefined
      word = word * 16 + digit
    }
    words.push(word)
  }
  return words
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const lower = c | 0x20
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10
  return -1
}

/** Prints 4 bytes as a dotted quad. */
export function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`
}

/**
 * Prints 16 bytes as nginx's `ngx_inet6_ntop` does, which is RFC 5952 section 4 (lowercase, no leading
 * zeros, the longest run of two or more zero groups compressed, the first on ties) with nginx's own rule
 * for addresses starting with a zero run: the last 32 bits are printed as a dotted quad for the
 * IPv4-mapped form (`::ffff:1.2.3.4`), the IPv4-compatible form (`::1.2.3.4`, six zero groups), and
 * seven zero groups unless byte 14 is zero or byte 15 is one (so `::1` and `::ff` stay, `::102` prints
 * `::0.0.1.2`). Matching that quirk keeps our digests equal to nginx's.
 */
export function formatIPv6(bytes: Uint8Array): string {
  const b = (i: number): number => bytes[i] as number
  let zero = -1
  let max = 1
  let run = 0
  let last = -1
  for (let i = 0; i < 16; i += 2) {
    if (b(i) !== 0 || b(i + 1) !== 0) {
      if (max < run) {
        zero = last
        max = run
      }
      run = 0
      continue
    }
    if (run++ === 0) last = i
  }
  if (max < run) {
    zero = last
    max = run
  }

  let end = 16
  let out = ''
  if (zero === 0) {
    if ((max === 5 && b(10) === 0xff && b(11) === 0xff) || max === 6 || (max === 7 && b(14) !== 0 && b(15) !== 1)) {
      end = 12
    }
    out = ':'
  }
  for (let i = 0; i < end; i += 2) {
    if (i === zero) {
      out += ':'
      i += (max - 1) * 2
      continue
    }
    out += (b(i) * 256 + b(i + 1)).toString(16)
    if (i < 14) out += ':'
  }
  if (end === 12) out += `${b(12)}.${b(13)}.${b(14)}.${b(15)}`
  return out
}
