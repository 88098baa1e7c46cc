import fc from 'fast-check'

function charsOf(ranges: ReadonlyArray<readonly [number, number]>): string[] {
  const chars: string[] = []
  for (const [from, to] of ranges) for (let c = from; c <= to; c++) chars.push(String.fromCharCode(c))
  return chars
}

/** RFC 9110 `tchar`, written out independently of the code under test. */
export const TOKEN_CHARS: readonly string[] = [..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"]
/** RFC 6265 `cookie-octet`: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E. */
export const COOKIE_OCTETS: readonly string[] = charsOf([
  [0x21, 0x21],
  [0x23, 0x2b],
  [0x2d, 0x3a],
  [0x3c, 0x5b],
  [0x5d, 0x7e],
])
/** RFC 6265 `av-octet`: any CHAR except CTLs or `;`. */
export const AV_OCTETS: readonly string[] = charsOf([
  [0x20, 0x3a],
  [0x3c, 0x7e],
])

/** A valid cookie name. */
export const arbitraryName: fc.Arbitrary<string> = fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 16 })
/** A valid cookie value, possibly empty. */
export const arbitraryValue: fc.Arbitrary<string> = fc.string({ unit: fc.constantFrom(...COOKIE_OCTETS), maxLength: 48 })

/** Characters that break headers or cookie syntax, weighted in so that hostile input is actually tried. */
const HOSTILE = [';', '=', ' ', '\t', '"', ',', '\\', '\r', '\n', '\0', '\x7f', '\u0085', '\u2028', '\ud800', '\udc00', 'é', '/']
/** Any UTF-16 code unit: controls, non-ASCII and lone surrogates included. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c))

/** One character that breaks headers or cookie syntax, or any code unit. */
export const arbitraryHostileChar: fc.Arbitrary<string> = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...HOSTILE) }, { weight: 1, arbitrary: anyCodeUnit })

/** Arbitrary text mixing valid cookie characters, hostile ones, any code unit and full Unicode. */
export const arbitraryHostile: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...COOKIE_OCTETS) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE) },
    { weight: 1, arbitrary: anyCodeUnit },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  ),
  maxLength: 40,
})

/** A valid domain: optional leading dot, LDH labels. */
export const arbitraryDomain: fc.Arbitrary<string> = fc
  .tuple(fc.boolean(), fc.array(fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/), { minLength: 1, maxLength: 4 }))
  .map(([dot, labels]) => (dot ? '.' : '') + labels.join('.'))

/** A valid path: `/` then av-octets. */
export const arbitraryPath: fc.Arbitrary<string> = fc.string({ unit: fc.constantFrom(...AV_OCTETS), maxLength: 24 }).map((p) => `/${p}`)

/** Milliseconds in the years 1601 to 9999, the range `Expires` accepts. */
export const arbitraryExpiresMs: fc.Arbitrary<number> = fc.integer({ min: Date.UTC(1601, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) })

/** Runs `fn`, returning the error it throws or `undefined`. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}
